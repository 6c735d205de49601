"""`TrainConfig`: everything `fit` needs besides the data, as one typed dataclass.

Kept free of heavy imports (torch, Lightning) so the CLI can build its flags from the fields and
check options at once; `check` imports the model registry only when called.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np

from actrec.errors import ConfigError


@dataclass
class TrainConfig:
    """Everything `fit` needs besides the data; saved with the model and in RUN/config.json.

    joints: skeleton groups or joint names to keep (keypoint data). augment: training-only
    augmentations (`mirror`, `rotate`, ...). class_weight `balanced` weighs the loss by inverse
    class frequency, for rare events that matter more than top-1 (a fall among hours of walking);
    off by default, as in scikit-learn, aeon and Keras, because it trades top-1 for the rare
    classes' recall (Covid3Month_disc, classes 29/75/36: top-1 0.645 balanced, 0.705 not).
    sampler `balanced` draws classes equally instead (for heavy imbalance).
    monitor: the validation metric that picks the best checkpoint and stops early.
    last_steps: keep only the last N valid steps of every sample, in training and prediction
    (what `actrec sweep` searches as `window_length`); None keeps them all.
    streams: skeleton streams (`joint`, `bone`, `joint_motion`, `bone_motion`), one `model` each,
    fused by averaging their probabilities; empty: the model's own keypoint features.
    `FIELD_HELP` below gives each field's one-line help for `actrec train --help`.
    """

    model: str = "auto"
    model_options: dict[str, Any] = field(default_factory=dict)
    joints: list[str] = field(default_factory=list)
    augment: list[Any] = field(default_factory=list)
    epochs: int = 60
    batch_size: int = 16
    optimizer: str = "adamw"
    lr: float = 1e-3
    weight_decay: float = 1e-4
    scheduler: str = "cosine"
    patience: int = 15
    monitor: str = "val_loss"
    class_weight: str | None = None
    sampler: str = "shuffle"
    val_fraction: float = 0.2
    seed: int = 0
    devices: int = 1
    num_nodes: int = 1
    time_budget: float | None = None
    last_steps: int | None = None
    streams: list[str] = field(default_factory=list)
    # what the shared fit loop (actrec.training.fit) also reads; clip runs set them
    # (VideoTrainConfig), sequence runs train on hard labels of unmixed samples
    label_smoothing: ClassVar[float] = 0.0
    mixup: ClassVar[float] = 0.0

    def check(self) -> None:
        """Every option checked before any data is read, each failure one line naming the option
        and its valid choices. What depends on the data (a skeleton for `stgcn` or `mirror`, joint
        names) is checked by `Recognizer.check_data`, still before any split or fitting."""
        from actrec.features.augment import parse_augmentations
        from actrec.models import make_config, model_capabilities
        from actrec.training.optim import OptimConfig

        self._check_types()
        make_config(self.model, self.model_options)
        if self.streams:
            from actrec.models.streams import check_streams

            if not isinstance(self.streams, list):
                raise ConfigError(f"streams must be a list of names, e.g. [joint, bone]; got {self.streams!r}")
            check_streams(self.streams)
            if self.model == "auto" or model_capabilities(self.model, self.model_options).closed_form:
                raise ConfigError(
                    f"streams train one network per stream by gradient steps; model '{self.model}' cannot, use e.g. ctrgcn or stgcn"
                )
        OptimConfig(self.optimizer, self.lr, self.weight_decay, self.scheduler).check()
        if not isinstance(self.augment, list):
            raise ConfigError(f"augment must be a list of names, e.g. [mirror, rotate]; got {self.augment!r}")
        parse_augmentations(self.augment)
        if not isinstance(self.joints, list) or not all(isinstance(j, (str, int)) for j in self.joints):
            raise ConfigError(
                f"joints must be a list of skeleton groups or joint names, e.g. [body, left_hand]; got {self.joints!r}"
            )
        if not 0 <= self.val_fraction < 1:
            raise ConfigError(f"val_fraction must be in [0, 1), got {self.val_fraction}")
        if self.lr <= 0:
            raise ConfigError(f"lr must be positive, got {self.lr}")
        if self.last_steps is not None and self.last_steps < 1:
            raise ConfigError(f"last_steps must be at least 1 (or unset to keep every step), got {self.last_steps}")
        if self.monitor not in ("val_loss", "val_acc"):
            raise ConfigError(f"unknown monitor '{self.monitor}'; choose val_loss or val_acc")
        if self.sampler not in ("shuffle", "balanced"):
            raise ConfigError(f"unknown sampler '{self.sampler}'; choose shuffle or balanced")
        if self.class_weight not in (None, "balanced"):
            raise ConfigError(f"unknown class_weight '{self.class_weight}'; choose balanced or none")
        if self.epochs < 1 or self.batch_size < 1:
            raise ConfigError("epochs and batch_size must be at least 1")
        if self.time_budget is not None and self.time_budget <= 0:
            raise ConfigError(f"time_budget must be a positive number of seconds, got {self.time_budget}")

    def _check_types(self) -> None:
        """Each field holds its annotated kind (a YAML config can hold anything: a list for
        `model`, a string for `epochs`), so the checks below compare like with like."""
        for item in fields(self):
            value = getattr(self, item.name)
            kinds = FIELD_KINDS[str(item.type)]
            if value is None and type(None) in kinds:
                continue
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, kinds):
                wanted = " or ".join(KIND_NAMES[kind] for kind in kinds)
                raise ConfigError(f"{item.name} must be {wanted}, got {value!r}")


# the kinds a field's annotation allows: any integer (NumPy's too) where an int is asked, any
# real number where a float is
FIELD_KINDS: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (Integral,),
    "float": (Real,),
    "dict[str, Any]": (dict,),
    "list[str]": (list,),
    "list[Any]": (list,),
    "str | None": (str, type(None)),
    "int | None": (Integral, type(None)),
    "float | None": (Real, type(None)),
}

KIND_NAMES = {
    str: "text",
    Integral: "a whole number",
    Real: "a number",
    dict: "a mapping",
    list: "a list",
    type(None): "unset",
}

FIELD_HELP: dict[str, str] = {
    "model": "auto, minirocket, multirocket, inception, gru, lstm, stgcn, ctrgcn",
    "model_options": "model options as a mapping (on the command line: -o key=value, repeatable)",
    "joints": "skeleton groups or joints to keep, comma separated",
    "augment": "training augmentations, comma separated (mirror,rotate,scale,translate,jitter)",
    "epochs": "most epochs to train",
    "batch_size": "samples per gradient step",
    "optimizer": "adam | adamw | rmsprop",
    "lr": "learning rate",
    "weight_decay": "L2 penalty of the optimizer",
    "scheduler": "none | step | plateau | cosine | onecycle",
    "patience": "early-stopping patience in epochs",
    "monitor": "val_loss | val_acc: picks the best epoch and stops early",
    "class_weight": "balanced | none: loss weights by inverse class frequency",
    "sampler": "shuffle | balanced",
    "val_fraction": "share of the training groups held out for validation",
    "seed": "fixes splits, initialisation and order",
    "devices": "processes/GPUs on this node (DDP when > 1)",
    "num_nodes": "machines (DDP)",
    "time_budget": "seconds: a guard on a neural model's training; a run it cuts short says so (cut_by_time_budget) and is not reproducible",
    "last_steps": "keep the last N steps of every sample (train and predict), e.g. a sweep's window_length",
    "streams": "skeleton streams, one model each, probabilities fused: joint,bone,joint_motion,bone_motion",
}
