"""`Recognizer`: the one public object that fits, predicts, saves and loads.

Like aeon's BaseClassifier, `fit` and `predict_proba` validate and convert input once, at the
door, so every model gets clean `[N, T, F]` float32 features and a wrong input fails with one
sentence. A saved model is a single safetensors file whose JSON header carries the model config,
label names and the fitted feature pipeline: loading never executes code from the file.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
import torch

from actrec import __version__
from actrec.data.dataset import SequenceDataset
from actrec.data.splits import holdout_split
from actrec.errors import ConfigError, DataError, ModelFileError
from actrec.features.pipeline import FeaturePipeline, Flatten, Standardize, Step
from actrec.io.atomic import atomic_path
from actrec.io.labels import encode_labels
from actrec.models import MODELS, build_model, make_config

MODEL_FILE = "model.actrec"
DEFAULT_TIME_BUDGET_S = 120.0  # what `auto` may spend on its members when no budget is given
AUTO_KERNEL_MODEL = "multirocket"
AUTO_NEURAL_MODEL = "inception"
MIN_NEURAL_SECONDS = 20.0  # below this, a neural member would not get past its first epochs


@dataclass
class TrainConfig:
    """Everything `fit` needs besides the data; saved with the model and in RUN/config.json.

    joints: skeleton groups or joint names to keep (keypoint data). augment: training-only
    augmentations (`mirror`, `rotate`, ...). class_weight `balanced` weighs the loss by inverse
    class frequency; sampler `balanced` draws classes equally instead (for heavy imbalance).
    monitor: the validation metric that picks the best checkpoint and stops early.
    streams: skeleton streams (`joint`, `bone`, `joint_motion`, `bone_motion`), one `model` each,
    fused by averaging their probabilities; empty: the model's own keypoint features.
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
    class_weight: str | None = "balanced"
    sampler: str = "shuffle"
    val_fraction: float = 0.2
    seed: int = 0
    devices: int = 1
    num_nodes: int = 1
    time_budget: float | None = None
    streams: list[str] = field(default_factory=list)

    def check(self) -> None:
        make_config(self.model, self.model_options)
        if self.streams:
            from actrec.models.streams import check_streams

            check_streams(self.streams)
            capabilities = getattr(MODELS[self.model][1], "capabilities", None)
            if self.model == "auto" or (capabilities and capabilities.closed_form):
                raise ConfigError(f"streams train one network per stream by gradient steps; model '{self.model}' cannot, use e.g. ctrgcn or stgcn")
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


def as_dataset(X: Any, y: Any = None, groups: Any = None, lengths: Any = None, label_names: Sequence[str] | None = None, source: str = "<memory>") -> SequenceDataset:
    """Wrap arrays (or pass a SequenceDataset through); string labels are encoded the way every
    loader encodes them (`actrec.io.labels.encode_labels`)."""
    if isinstance(X, SequenceDataset):
        return X
    X = np.asarray(X, dtype=np.float32)
    if X.ndim == 2:
        X = X[:, :, None]
    if X.ndim not in (3, 4):
        raise DataError(f"{source}: X has shape {X.shape}; expected [N, T, F] or [N, T, J, C]")
    if lengths is None:
        lengths = np.full(X.shape[0], X.shape[1], dtype=np.int64)
    names = list(label_names) if label_names is not None else []
    if y is not None:
        y = np.asarray(y)
        if y.dtype.kind in "USO":
            ids = [str(i) for i in range(len(y))]
            y, names = encode_labels(y, source, ids, label_names)
    return SequenceDataset(X=X, lengths=lengths, y=y, label_names=names, groups=groups, source=source)


class Recognizer:
    """Sequence classifier: `Recognizer(model="gru", epochs=30).fit(X, y).predict(X_new)`.

    Keyword arguments are the fields of `TrainConfig`. After `fit` or `load`: `network` (eval
    mode), `pipeline`, `label_names`, `window_length`, `sample_rate_hz`, `feature_names`,
    `schema`, `history`.
    """

    def __init__(self, model: str = "inception", **options: Any) -> None:
        known = {f.name for f in fields(TrainConfig)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise ConfigError(f"Recognizer has no option '{unknown[0]}'; options are: {', '.join(sorted(known))}")
        self.config = TrainConfig(model=model, **options)
        self.config.check()
        self.network: torch.nn.Module | None = None
        self.pipeline: FeaturePipeline | None = None
        self.label_names: list[str] = []
        self.window_length = 0
        self.sample_rate_hz: float | None = None
        self.feature_names: list[str] | None = None
        self.schema: str | None = None
        self.schema_definition: dict[str, Any] | None = None
        self.frame_shape: tuple[int, ...] = ()
        self.n_features = 0
        self.history = pd.DataFrame()
        # out-of-sample validation probabilities of models refitted on train + validation
        self.validation_proba_: np.ndarray | None = None
        self.notes: list[str] = []  # what fit chose and why, for the person reading the run
        # streaming decision rules fitted to a session with known segments (`actrec.stream.calibrate`)
        self.decision_rules: dict[str, Any] | None = None
        self.is_main_process = True
        self.world_size = 1

    # ------------------------------------------------------------------ public names
    @property
    def model_name(self) -> str:
        return self.config.model

    @property
    def is_kernel_model(self) -> bool:
        """True for families fitted in closed form (random kernels + ridge head)."""
        from actrec.models import MODELS

        capabilities = getattr(MODELS[self.config.model][1], "capabilities", None)
        return bool(capabilities and capabilities.closed_form)

    @property
    def model_options(self) -> dict[str, Any]:
        return self.config.model_options

    # ------------------------------------------------------------------ fit
    def fit(self, X: Any, y: Any = None, groups: Any = None, lengths: Any = None, label_names: Sequence[str] | None = None, validation: SequenceDataset | None = None, work_dir: str | Path | None = None, progress: bool = False, resume_from: str | None = None) -> "Recognizer":
        """Train on `X` (array `[N, T, F]` / `[N, T, J, C]` or a SequenceDataset).

        A stratified, group-aware `val_fraction` of the data picks the best epoch unless
        `validation` is given. Checkpoints go to `work_dir/checkpoints` when given.
        """
        dataset = as_dataset(X, y, groups, lengths, label_names)
        if dataset.y is None:
            raise DataError(f"{dataset.source}: has no labels; fit needs one label per sample")
        self._check_values(dataset)
        if validation is None:
            keep, hold = holdout_split(dataset, self.config.val_fraction, self.config.seed)
            train, validation = dataset.subset(keep), dataset.subset(hold)
        else:
            train = dataset
            self._check_values(validation)
        self.label_names = list(dataset.label_names)
        self.sample_rate_hz = dataset.sample_rate_hz
        self.feature_names = dataset.feature_names
        self.schema = dataset.schema
        self.schema_definition = None
        if dataset.is_keypoints and dataset.schema:
            self.schema_definition = self.skeleton().to_dict()
        self.frame_shape = tuple(int(s) for s in dataset.X.shape[2:])
        self.window_length = dataset.n_steps
        if self.config.model == "auto":
            self._fit_auto(train, validation, work_dir, progress)
            return self
        if len(self.config.streams) > 1:
            if resume_from:
                raise ConfigError("resuming is for one network; several streams train one each, so start the run again")
            self._fit_streams(train, validation, progress)
            return self
        self.pipeline = FeaturePipeline(self._default_steps(dataset))
        train_features = self.pipeline.fit_transform(train.X, train.lengths)
        self.n_features = int(train_features.shape[-1])
        val_features = self._features(validation)
        self._train(train, train_features, validation, val_features, work_dir, progress, resume_from)
        return self

    def _fit_auto(self, train: SequenceDataset, validation: SequenceDataset, work_dir: str | Path | None, progress: bool) -> None:
        """Kernel model first (seconds); then, if the budget leaves time, a neural model; their
        probabilities are averaged with weights inversely proportional to validation log-loss."""
        import time

        from actrec.evaluation.metrics import compute_metrics

        start = time.perf_counter()
        budget = self.config.time_budget or DEFAULT_TIME_BUDGET_S
        shared = {k: getattr(self.config, k) for k in ("joints", "class_weight", "seed", "val_fraction")}
        members = [Recognizer(AUTO_KERNEL_MODEL, **shared).fit(train, validation=validation)]
        kernel_seconds = time.perf_counter() - start
        remaining = budget - kernel_seconds
        why = [f"{AUTO_KERNEL_MODEL} fitted in {kernel_seconds:.1f} s"]
        if validation.n_samples == 0:
            why.append(f"{AUTO_NEURAL_MODEL} skipped: no validation samples to weigh it against")
        elif remaining < MIN_NEURAL_SECONDS:
            why.append(f"{AUTO_NEURAL_MODEL} skipped: {remaining:.0f} s of the {budget:.0f} s budget left (--time-budget)")
        else:
            neural_options = {k: getattr(self.config, k) for k in ("augment", "epochs", "batch_size", "optimizer", "lr", "weight_decay", "scheduler", "patience", "monitor", "sampler", "devices", "num_nodes")}
            # a tenth of what is left stays for loading the best epoch and weighing the members
            neural = Recognizer(AUTO_NEURAL_MODEL, **shared, **neural_options, time_budget=0.9 * remaining)
            neural.fit(train, validation=validation, work_dir=work_dir, progress=progress)
            members.append(neural)
            self.is_main_process, self.world_size = neural.is_main_process, neural.world_size
            epochs = len(neural.history)
            why.append(f"{AUTO_NEURAL_MODEL} trained {epochs} epochs in {time.perf_counter() - start - kernel_seconds:.0f} s")
        probas = [m.validation_proba_ if m.validation_proba_ is not None else m.predict_proba(validation) for m in members]
        if len(members) > 1:
            losses = [compute_metrics(validation.y, p, self.label_names)["log_loss"] for p in probas]
            weights = [1.0 / max(loss, 1e-6) for loss in losses]
            weights = [w / sum(weights) for w in weights]
            why.append("weights " + ", ".join(f"{m.config.model} {w:.2f} (val log-loss {loss:.3f})" for m, w, loss in zip(members, weights, losses)))
        else:
            weights = [1.0]
        self.config.model_options = {
            "members": [{"model": m.config.model, "options": m.config.model_options} for m in members],
            "weights": weights,
            "why": why,
        }
        kernel = members[0]
        self.pipeline, self.n_features = kernel.pipeline, kernel.n_features
        self.network = self._build_network()
        for slot, member in zip(self.network.members, members):
            slot.load_state_dict(member.network.state_dict())
        self.network.eval()
        self.validation_proba_ = sum(w * p for w, p in zip(weights, probas)).astype(np.float32)
        self.history = members[-1].history
        self.notes = [f"auto: {'; '.join(why)}"]

    def _fit_streams(self, train: SequenceDataset, validation: SequenceDataset, progress: bool) -> None:
        """One network per stream, trained alone; their probabilities are averaged with weights
        inversely proportional to validation log-loss (equal without validation samples)."""
        from actrec.evaluation.metrics import compute_metrics

        member_config = asdict(self.config)
        if self.config.time_budget:
            member_config["time_budget"] = self.config.time_budget / len(self.config.streams)
        members = []
        for stream in self.config.streams:
            member = Recognizer(**(member_config | {"streams": [stream]}))
            members.append(member.fit(train, validation=validation, progress=progress))
            self.is_main_process, self.world_size = member.is_main_process, member.world_size
        self.pipeline, self.n_features = members[0].pipeline, members[0].n_features
        self.network = self._build_network()
        for slot, member in zip(self.network.members, members):
            slot.load_state_dict(member.network.members[0].state_dict())
        if validation.n_samples:
            probas = [member.predict_proba(validation) for member in members]
            losses = [compute_metrics(validation.y, p, self.label_names)["log_loss"] for p in probas]
            weights = np.array([1.0 / max(loss, 1e-6) for loss in losses])
            weights /= weights.sum()
            self.validation_proba_ = sum(w * p for w, p in zip(weights, probas)).astype(np.float32)
            chosen = ", ".join(f"{s} {w:.2f} (val log-loss {loss:.3f})" for s, w, loss in zip(self.config.streams, weights, losses))
        else:
            weights = np.full(len(members), 1.0 / len(members))
            chosen = "equal (no validation samples)"
        self.network.weights.copy_(torch.as_tensor(weights, dtype=torch.float32))
        self.network.eval()
        self.history = members[0].history
        self.notes = [f"streams: one {self.config.model} per stream; weights {chosen}"]

    @property
    def needs_skeleton(self) -> bool:
        """True for graph networks, which take a joint-major keypoint layout and the schema."""
        capabilities = getattr(MODELS[self.config.model][1], "capabilities", None)
        return bool(capabilities and capabilities.needs_skeleton)

    def _default_steps(self, dataset: SequenceDataset) -> list[Step]:
        steps: list[Step] = []
        if self.config.streams and not (dataset.is_keypoints and dataset.schema):
            raise ConfigError(f"{dataset.source}: streams need keypoint data with a skeleton schema (X [N, T, J, C] and schema)")
        if dataset.is_keypoints:
            if dataset.schema:
                from actrec.features.keypoints import keypoint_steps
                from actrec.features.streams import stream_steps

                options: dict[str, Any] = {"joints": self.config.joints} if self.config.joints else {}
                if self.config.streams:
                    steps = stream_steps(dataset.schema, **options)
                else:
                    steps = keypoint_steps(dataset.schema, graph=self.needs_skeleton, **options)
            else:
                steps = [Flatten()]
        return steps + [Standardize()]

    def _graph_schema(self) -> Any:
        if not self.needs_skeleton and not self.config.streams:
            return None
        if not self.schema:
            raise ConfigError(f"model '{self.config.model}' needs keypoint data with a skeleton schema (X [N, T, J, C] and schema)")
        from actrec.features.keypoints import pipeline_schema

        return pipeline_schema(self.skeleton(), self.pipeline)

    def skeleton(self) -> Any:
        """The model's skeleton `Schema`, rebuilt from the copy saved in the model (so a user's YAML
        file is not needed later); None for non-keypoint models."""
        if not self.schema:
            return None
        from actrec.skeletons.schema import get_schema, schema_from_dict

        if self.schema_definition:
            return schema_from_dict(self.schema_definition, source=f"model schema {self.schema}")
        return get_schema(self.schema)

    def _build_network(self) -> torch.nn.Module:
        options = dict(self.config.model_options)
        if options.get("pooling") == "all" and not options.get("steps"):
            options["steps"] = self.window_length
            self.config.model_options = options
        if self.is_kernel_model and not options.get("input_length"):
            options["input_length"] = self.window_length
            self.config.model_options = options
        if self.config.streams:
            from actrec.features.streams import stream_channels
            from actrec.models.streams import MultiStreamConfig, MultiStreamNet

            streams = MultiStreamConfig(self.config.model, options, self.config.streams, stream_channels(self.pipeline, self.config.streams))
            return MultiStreamNet(self.n_features, len(self.label_names), streams, self._graph_schema())
        return build_model(self.config.model, self.n_features, len(self.label_names), options, self._graph_schema())

    def _train(self, train: SequenceDataset, train_features: np.ndarray, validation: SequenceDataset, val_features: np.ndarray, work_dir: str | Path | None, progress: bool, resume_from: str | None) -> None:
        import lightning as L
        from lightning.pytorch.callbacks import (
            EarlyStopping,
            ModelCheckpoint,
        )

        from actrec.training.callbacks import EpochSeed, History, progress_bar
        from actrec.training.data import (
            ArrayDataset,
            AugmentedDataset,
            SequenceDataModule,
        )
        from actrec.training.module import ClassifierModule, OptimConfig
        from actrec.training.quiet import quiet_lightning

        quiet_lightning()
        config = self.config
        L.seed_everything(config.seed, workers=True, verbose=False)
        self.network = self._build_network()
        if self.is_kernel_model:
            self._fit_closed_form(train, train_features, validation, val_features)
            return
        weights = None
        if config.class_weight == "balanced":
            counts = np.bincount(train.y, minlength=len(self.label_names)).astype(np.float64)
            present = counts > 0
            weights_np = np.zeros_like(counts)
            weights_np[present] = counts[present].sum() / (present.sum() * counts[present])
            weights = torch.tensor(weights_np, dtype=torch.float32)
        callbacks: list[Any] = [History()]
        train_set: Any = ArrayDataset(train_features, train.lengths, train.y)
        if config.augment:
            from actrec.features.augment import build_augmenter

            augmenter = build_augmenter(config.augment, self.schema)
            if augmenter is not None:
                train_set = AugmentedDataset(train.X, train.lengths, train.y, augmenter, self.pipeline.transform, config.seed)
                callbacks.append(EpochSeed(train_set))
        data = SequenceDataModule(train_set, ArrayDataset(val_features, validation.lengths, validation.y), config.batch_size, config.seed, config.sampler == "balanced", train.y)
        module = ClassifierModule(self.network, OptimConfig(config.optimizer, config.lr, config.weight_decay, config.scheduler), weights, config.epochs)
        mode = "min" if config.monitor == "val_loss" else "max"
        scratch = Path(tempfile.mkdtemp(prefix=".checkpoints-", dir=work_dir))
        checkpoint = ModelCheckpoint(dirpath=scratch, filename="best", monitor=config.monitor, mode=mode, save_last=True)
        callbacks += [checkpoint, EarlyStopping(monitor=config.monitor, mode=mode, patience=config.patience)]
        if progress:
            callbacks.append(progress_bar())
        distributed = config.devices * config.num_nodes > 1
        on_gpu = torch.cuda.is_available()
        trainer = L.Trainer(
            max_epochs=config.epochs,
            accelerator="auto" if on_gpu else "cpu",
            devices=config.devices,
            num_nodes=config.num_nodes,
            strategy="ddp" if distributed else "auto",
            callbacks=callbacks,
            logger=False,
            # CPU kernels are already deterministic for a given seed and thread count; forcing
            # deterministic algorithms there only slows recurrent backward passes (~18% measured by
            # bench/train_throughput.py --model gru) and leaks a global torch flag into the caller
            deterministic=on_gpu,
            max_time={"seconds": config.time_budget} if config.time_budget else None,
            enable_progress_bar=progress,
            enable_model_summary=False,
            num_sanity_val_steps=0,
        )
        try:
            trainer.fit(module, datamodule=data, ckpt_path=resume_from)
            self.is_main_process = trainer.global_rank == 0
            self.world_size = trainer.world_size
            if not self.is_main_process:  # rank 0 alone holds the checkpoints and writes results
                return
            best = checkpoint.best_model_path
            if not best or not Path(best).is_file():  # a resumed run may name a best file from the old run
                best = checkpoint.last_model_path
            state = torch.load(best, map_location="cpu", weights_only=True)["state_dict"]
            self.network.load_state_dict({k.removeprefix("network."): v for k, v in state.items() if k.startswith("network.")})
            if work_dir is not None:
                final = Path(work_dir) / "checkpoints"
                shutil.rmtree(final, ignore_errors=True)
                scratch.rename(final)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        self.network.eval()
        self.history = pd.DataFrame(callbacks[0].rows)

    def _fit_closed_form(self, train: SequenceDataset, train_features: np.ndarray, validation: SequenceDataset, val_features: np.ndarray) -> None:
        import time

        from actrec.evaluation.metrics import compute_metrics
        from actrec.training.kernels import fit_kernel_model

        start = time.perf_counter()
        self.validation_proba_ = fit_kernel_model(
            self.network, (train_features, train.lengths, train.y), (val_features, validation.lengths, validation.y),
            len(self.label_names), self.config.class_weight, self.config.seed,
        )
        self.network.eval()
        row: dict[str, Any] = {"epoch": 0, "seconds": time.perf_counter() - start}
        if validation.n_samples:
            metrics = compute_metrics(validation.y, self.validation_proba_, self.label_names)
            row |= {"val_loss": metrics["log_loss"], "val_acc": metrics["top1"]}
        self.history = pd.DataFrame([row])

    # ------------------------------------------------------------------ predict
    def _check_values(self, dataset: SequenceDataset) -> None:
        """Sensor/feature data must be finite; keypoint NaNs are handled by the keypoint steps."""
        if not dataset.is_keypoints or not dataset.schema:
            dataset.check_finite()

    def _features(self, dataset: SequenceDataset) -> np.ndarray:
        if self.pipeline is None:
            raise ConfigError("this Recognizer is not fitted; call fit or Recognizer.load first")
        shape = tuple(dataset.X.shape[2:])
        if self.frame_shape and shape != self.frame_shape:
            raise DataError(
                f"{dataset.source}: each step has shape {list(shape)} but the model was trained on "
                f"{list(self.frame_shape)}; give the same features (and joints) as in training"
            )
        self._check_values(dataset)
        features = self.pipeline.transform(dataset.X, dataset.lengths)
        if not np.isfinite(features).all():
            sample = int(np.argwhere(~np.isfinite(features))[0][0])
            raise DataError(f"{dataset.source}: sample {dataset.ids[sample]} gives non-finite features; check it for NaN or inf values")
        return features

    def predict_proba(self, X: Any, lengths: Any = None, batch_size: int = 256) -> np.ndarray:
        """Class probabilities float32 `[N, C]`, columns in `label_names` order."""
        dataset = as_dataset(X, lengths=lengths)
        features = self._features(dataset)
        return self.proba_from_features(features, dataset.lengths, batch_size)

    def proba_from_features(self, features: np.ndarray, lengths: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """Probabilities for already featurised `[N, T, F]` input (used by streaming and export)."""
        if self.network is None:
            raise ConfigError("this Recognizer is not fitted; call fit or Recognizer.load first")
        out = []
        with torch.inference_mode():
            for start in range(0, len(features), batch_size):
                x = torch.from_numpy(np.ascontiguousarray(features[start : start + batch_size]))
                length = torch.from_numpy(np.asarray(lengths[start : start + batch_size], dtype=np.int64))
                out.append(torch.softmax(self.network(x, length), dim=1).numpy())
        return np.concatenate(out).astype(np.float32)

    def predict(self, X: Any, lengths: Any = None) -> np.ndarray:
        """Label names `[N]` of the most probable class."""
        proba = self.predict_proba(X, lengths)
        return np.asarray(self.label_names, dtype=object)[proba.argmax(1)]

    # ------------------------------------------------------------------ save / load
    def metadata(self) -> dict[str, Any]:
        return {
            "format": "actrec-model",
            "actrec_version": __version__,
            "config": asdict(self.config),
            "label_names": self.label_names,
            "window_length": self.window_length,
            "sample_rate_hz": self.sample_rate_hz,
            "feature_names": self.feature_names,
            "schema": self.schema,
            "schema_definition": self.schema_definition,
            "frame_shape": list(self.frame_shape),
            "n_features": self.n_features,
            "pipeline": self.pipeline.get_state() if self.pipeline else [],
            "decision_rules": self.decision_rules,
        }

    def save(self, path: str | Path) -> Path:
        """Write one self-contained `.actrec` file (safetensors; a RUN folder gets model.actrec)."""
        from safetensors.torch import save_file

        if self.network is None:
            raise ConfigError("nothing to save: this Recognizer is not fitted")
        path = Path(path)
        if path.is_dir():
            path = path / MODEL_FILE
        tensors = {k: v.detach().contiguous().clone() for k, v in self.network.state_dict().items()}
        with atomic_path(path) as tmp:
            save_file(tensors, tmp, metadata={"actrec": json.dumps(self.metadata())})
        return path

    @classmethod
    def load(cls, path: str | Path) -> "Recognizer":
        """Load a model saved by `save` or `actrec train` (the file, or the RUN folder holding it)."""
        from safetensors import safe_open

        path = Path(path)
        if path.is_dir():
            path = path / MODEL_FILE
        if not path.is_file():
            raise ModelFileError(f"{path}: no such model file; give a RUN folder from 'actrec train' or its {MODEL_FILE}")
        try:
            with safe_open(str(path), framework="pt") as handle:
                header = handle.metadata() or {}
                tensors = {key: handle.get_tensor(key) for key in handle.keys()}
            meta = json.loads(header["actrec"])
        except Exception as error:  # safetensors raises several types for foreign or cut files
            raise ModelFileError(
                f"{path}: not a readable actrec model ({type(error).__name__}); the file is truncated or "
                "foreign (actrec never unpickles); re-save it with actrec"
            ) from None
        if meta.get("format") != "actrec-model":
            raise ModelFileError(f"{path}: safetensors file without actrec metadata; save models with Recognizer.save")
        rec = cls(**meta["config"])
        rec.label_names = meta["label_names"]
        rec.window_length = int(meta["window_length"])
        rec.sample_rate_hz = meta["sample_rate_hz"]
        rec.feature_names = meta["feature_names"]
        rec.schema = meta["schema"]
        rec.schema_definition = meta.get("schema_definition")
        rec.frame_shape = tuple(meta["frame_shape"])
        rec.n_features = int(meta["n_features"])
        rec.pipeline = FeaturePipeline.from_state(meta["pipeline"])
        rec.decision_rules = meta.get("decision_rules")
        rec.network = rec._build_network()
        try:
            rec.network.load_state_dict(tensors)
        except RuntimeError as error:
            first = str(error).splitlines()[0]
            raise ModelFileError(f"{path}: weights do not fit the saved model config ({first}); the file is damaged") from None
        rec.network.eval()
        return rec
