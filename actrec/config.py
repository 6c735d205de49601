"""Training options as typed dataclasses: `TrainingOptions` (what sequence and clip training
share), `TrainConfig` (sequences) extends it, and `actrec.recognizers.clip.VideoTrainConfig`
(clips) too.

Each field carries its one-line help in its metadata (`option(...)`), so the CLI flags
(`cli/core.with_config_flags`), their help texts, the `Recognizer`'s keyword arguments
(`estimator_signature`) and the options an ensemble's members inherit (`member_options`) are all
read from the fields: a new field is declared once. Kept free of heavy imports (torch, Lightning)
so the CLI can build its flags from the fields and check options at once; `check` imports the
model registry only when called.
"""

from __future__ import annotations

import inspect
import typing
import warnings
from dataclasses import MISSING, Field, dataclass, field, fields
from numbers import Integral, Real
from typing import Any

import numpy as np

from actrec.errors import ConfigError


def option(default: Any, help: str, member: bool = True) -> Any:
    """A config field with its help text. A mutable default (list, dict) is copied per instance.
    `member=False`: a field that says which model to fit, so an ensemble's or a stream's member
    does not inherit it (`member_options`); every other field passes to members as given."""
    metadata = {"help": help, "member": member}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata=metadata)
    return field(default=default, metadata=metadata)


def field_help(config_field: Field) -> str:
    """The field's one-line help (`actrec train --help`)."""
    return str(config_field.metadata["help"])


def field_default(config_field: Field) -> Any:
    """The field's default value (a fresh copy for a list or dict)."""
    if config_field.default_factory is not MISSING:
        return config_field.default_factory()
    return config_field.default


def member_options(config: Any) -> dict[str, Any]:
    """The options a member fit (an ensemble's model, one skeleton modality) inherits from `config`:
    every field but those that choose the model (`option(member=False)`)."""
    return {f.name: getattr(config, f.name) for f in fields(config) if f.metadata["member"]}


def estimator_signature(
    config_class: type, first: tuple[str, ...] = ("self",), positional: int = 2
) -> inspect.Signature:
    """The keyword signature of an estimator whose arguments are `config_class`'s fields: same
    names, same defaults (None for a list or dict, which the estimator must not share between
    instances), annotated as the fields are. scikit-learn's `get_params` reads it. Only the first
    `positional` fields (`model`, `model_options`) may be given by position: the order of the
    others follows the dataclasses and is no contract, so a misplaced argument is a TypeError,
    not another option set quietly."""
    hints = typing.get_type_hints(config_class)
    parameters = [inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD) for name in first]
    for index, config_field in enumerate(fields(config_class)):
        mutable = config_field.default_factory is not MISSING
        annotation = hints[config_field.name] | None if mutable else hints[config_field.name]
        parameters.append(
            inspect.Parameter(
                config_field.name,
                inspect.Parameter.POSITIONAL_OR_KEYWORD if index < positional else inspect.Parameter.KEYWORD_ONLY,
                default=None if mutable else config_field.default,
                annotation=annotation,
            )
        )
    return inspect.Signature(parameters)


# options renamed since 0.5.0 (old name -> new), still read under the old name: as a keyword,
# a flag, in a YAML config or a model file
RENAMED = {"streams": "modalities"}


def renamed_options(values: dict[str, Any], warn: bool = False) -> dict[str, Any]:
    """`values` with every old option name (`RENAMED`) under its new one; both given is an error.
    `warn`: a FutureWarning names the new one (code a person writes, not a saved file)."""
    values = dict(values)
    for old, new in RENAMED.items():
        if old in values:
            if new in values:
                raise ConfigError(f"'{old}' is the old name of '{new}'; give only '{new}'")
            if warn:
                warnings.warn(f"'{old}' is now called '{new}'; the old name still works", FutureWarning, stacklevel=3)
            values[new] = values.pop(old)
    return values


@dataclass
class TrainingOptions:
    """The options every training shares, sequences and clips alike (the shared fit loop,
    `actrec.training.fit`, reads them); saved with the model and in RUN/config.json.

    class_weight `balanced` weighs the loss by inverse class frequency, for rare events that matter
    more than top-1 (a fall among hours of walking); off by default for sequences, as in
    scikit-learn, aeon and Keras, because it trades top-1 for the rare classes' recall
    (Covid3Month_disc, classes 29/75/36: top-1 0.645 balanced, 0.705 not).
    monitor: the validation metric that picks the best checkpoint and stops early; epochs is a
    ceiling. label_smoothing, mixup: regularisation for small sets (`training/module.py`), 0: none.
    """

    model: str = option("auto", "auto, minirocket, multirocket, inception, gru, lstm, stgcn, ctrgcn", member=False)
    model_options: dict[str, Any] = option(
        {}, "model options as a mapping (on the command line: -o key=value, repeatable)", member=False
    )
    epochs: int = option(60, "most epochs to train")
    batch_size: int = option(16, "samples per gradient step")
    optimizer: str = option("adamw", "adam | adamw | rmsprop")
    lr: float = option(1e-3, "learning rate")
    weight_decay: float = option(1e-4, "L2 penalty of the optimizer")
    scheduler: str = option("cosine", "none | step | plateau | cosine | onecycle")
    patience: int = option(15, "early-stopping patience in epochs")
    monitor: str = option("val_loss", "val_loss | val_acc: picks the best epoch and stops early")
    class_weight: str | None = option(None, "balanced | none: loss weights by inverse class frequency")
    val_fraction: float = option(0.2, "share of the training groups held out for validation")
    seed: int = option(0, "fixes splits, initialisation and order")
    devices: int = option(1, "processes/GPUs on this node (DDP when > 1)")
    num_nodes: int = option(1, "machines (DDP)")
    time_budget: float | None = option(
        None,
        "seconds: a guard on a neural model's training; a run it cuts short says so (cut_by_time_budget) and is not reproducible",
    )
    label_smoothing: float = option(0.0, "target mass spread over the other classes, in [0, 1) (training loss only)")
    mixup: float = option(
        0.0, "Beta parameter of mixing each training batch with a shuffled copy (0: none; for same-length samples)"
    )

    def check(self) -> None:
        """The shared options checked before any data is read, each failure one line naming the
        option and its valid choices; the subclasses check their own fields and the model."""
        from actrec.training.optim import OptimConfig

        self._check_types()
        OptimConfig(self.optimizer, self.lr, self.weight_decay, self.scheduler).check()
        if not 0 <= self.val_fraction < 1:
            raise ConfigError(f"val_fraction must be in [0, 1), got {self.val_fraction}")
        if self.lr <= 0:
            raise ConfigError(f"lr must be positive, got {self.lr}")
        if self.monitor not in ("val_loss", "val_acc"):
            raise ConfigError(f"unknown monitor '{self.monitor}'; choose val_loss or val_acc")
        if self.class_weight not in (None, "balanced"):
            raise ConfigError(f"unknown class_weight '{self.class_weight}'; choose balanced or none")
        if self.epochs < 1 or self.batch_size < 1:
            raise ConfigError("epochs and batch_size must be at least 1")
        if self.time_budget is not None and self.time_budget <= 0:
            raise ConfigError(f"time_budget must be a positive number of seconds, got {self.time_budget}")
        if not 0.0 <= self.label_smoothing < 1.0 or self.mixup < 0.0:
            raise ConfigError(
                f"label_smoothing must be in [0, 1) and mixup (a Beta parameter) >= 0, got {self.label_smoothing} and {self.mixup}"
            )

    def _check_types(self) -> None:
        """Each field holds its annotated kind (a YAML config can hold anything: a list for
        `model`, a string for `epochs`), so the checks compare like with like."""
        for item in fields(self):
            value = getattr(self, item.name)
            kinds = FIELD_KINDS[str(item.type)]
            if value is None and type(None) in kinds:
                continue
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, kinds):
                wanted = " or ".join(KIND_NAMES[kind] for kind in kinds)
                raise ConfigError(f"{item.name} must be {wanted}, got {value!r}")


@dataclass
class TrainConfig(TrainingOptions):
    """Everything a sequence `fit` needs besides the data: the shared options and those of
    sequences (skeleton joints, augmentation, sampling, the last steps kept, skeleton modalities).

    joints: skeleton groups or joint names to keep (keypoint data). augment: training-only
    augmentations (`mirror`, `rotate`, ...). sampler `balanced` draws classes equally (for heavy
    imbalance). last_steps: keep only the last N valid steps of every sample, in training and
    prediction (what `actrec sweep` searches as `window_length`); None keeps them all.
    modalities: skeleton modalities (`joint`, `bone`, `joint_motion`, `bone_motion`), one `model`
    each, fused by averaging their probabilities; empty: the model's own keypoint features. (The
    papers also call them "streams"; here a stream is live input, so `streams` is only the old
    name, `RENAMED`.)
    """

    joints: list[str] = option([], "skeleton groups or joints to keep, comma separated")
    augment: list[Any] = option([], "training augmentations, comma separated (mirror,rotate,scale,translate,jitter)")
    sampler: str = option("shuffle", "shuffle | balanced")
    last_steps: int | None = option(
        None, "keep the last N steps of every sample (train and predict), e.g. a sweep's window_length"
    )
    modalities: list[str] = option(
        [],
        "skeleton modalities, one model each, probabilities fused: joint,bone,joint_motion,bone_motion (old name: --streams)",
        member=False,
    )

    def check(self) -> None:
        """Every option checked before any data is read. What depends on the data (a skeleton
        for `stgcn` or `mirror`, joint names) is checked by `Recognizer.check_data`, still before
        any split or fitting."""
        from actrec.features.augment import parse_augmentations
        from actrec.models import make_config, model_capabilities

        super().check()
        make_config(self.model, self.model_options, "frames")
        if self.modalities:
            from actrec.models.modalities import check_modalities

            if not isinstance(self.modalities, list):
                raise ConfigError(f"modalities must be a list of names, e.g. [joint, bone]; got {self.modalities!r}")
            check_modalities(self.modalities)
            if self.model == "auto" or model_capabilities(self.model, self.model_options).closed_form:
                raise ConfigError(
                    f"modalities train one network per modality by gradient steps; model '{self.model}' cannot, use e.g. ctrgcn or stgcn"
                )
        if not isinstance(self.augment, list):
            raise ConfigError(f"augment must be a list of names, e.g. [mirror, rotate]; got {self.augment!r}")
        parse_augmentations(self.augment)
        if not isinstance(self.joints, list) or not all(isinstance(j, (str, int)) for j in self.joints):
            raise ConfigError(
                f"joints must be a list of skeleton groups or joint names, e.g. [body, left_hand]; got {self.joints!r}"
            )
        if self.last_steps is not None and self.last_steps < 1:
            raise ConfigError(f"last_steps must be at least 1 (or unset to keep every step), got {self.last_steps}")
        if self.sampler not in ("shuffle", "balanced"):
            raise ConfigError(f"unknown sampler '{self.sampler}'; choose shuffle or balanced")


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
