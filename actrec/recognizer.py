"""`Recognizer`: the sequence classifier's door (fit, predict_proba) and persistence.

Like aeon's BaseClassifier, `fit` and `predict_proba` validate and convert input once, at the
door, so every model gets clean `[N, T, F]` float32 features and a wrong input fails with one
sentence. How the network is fitted is a strategy in `actrec.training.strategies`, chosen from
the model's capabilities. A saved model is a single safetensors file whose JSON header carries
the model config, label names and the fitted feature pipeline: loading never executes code from
the file.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import MISSING, asdict, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator, ClassifierMixin

from actrec import __version__
from actrec.config import TrainConfig, estimator_signature, member_options
from actrec.data.dataset import SequenceDataset, as_dataset
from actrec.data.labels import imbalance_notes
from actrec.data.splits import plan_splits
from actrec.errors import ConfigError, DataError, ModelFileError
from actrec.features.pipeline import FeaturePipeline, Step
from actrec.io.model_file import load_model, metadata_errors, save_model
from actrec.models import Capabilities, model_capabilities
from actrec.training import networks
from actrec.training.feature_store import TransformedBatches, slices
from actrec.training.strategies import FitTask, choose_strategy

__all__ = ["Recognizer", "TrainConfig", "as_dataset"]

NULLABLE = {f.name for f in fields(TrainConfig) if f.default_factory is MISSING}  # None is a value, not "unset"


class Recognizer(ClassifierMixin, BaseEstimator):
    """Sequence classifier: `Recognizer(model="gru", epochs=30).fit(X, y).predict(X_new)`.

    Keyword arguments are the fields of `TrainConfig` (same names and defaults, `model="auto"` as
    in the CLI; the signature is generated from the dataclass), stored as given, so
    scikit-learn's `get_params`/`set_params`, `clone`, `cross_validate` and `GridSearchCV` work on
    it. After `fit` or `load`: `classes_`, `network` (eval mode), `pipeline`, `label_names`,
    `window_length`, `sample_rate_hz`, `feature_names`, `schema`, `history` (also as `network_`,
    `pipeline_`, `window_length_`, `history_`), and `config`, the TrainConfig the model was fitted
    with. `history` is what the fit strategy has: epochs, a penalty search, or members.
    """

    kind = "sequence"  # what `actrec.video.recognizer.load_recognizer` tells apart in a model file
    # what one prediction reads: frames (sensor rows or keypoints), also fed one at a time to a
    # Streamer; the consumers that parse input (serve's bodies, stream's sources, export's graphs)
    # read this tag, never `kind`
    input_medium = "frames"

    def __init__(self, *args: Any, **params: Any) -> None:
        # scikit-learn's contract: every argument stored unchanged under its own name
        bound = type(self).__init__.__signature__.bind(self, *args, **params)  # type: ignore[attr-defined]
        bound.apply_defaults()
        for name, value in list(bound.arguments.items())[1:]:
            setattr(self, name, value)
        # a bad option fails here, before any data is given
        self.config = self._config_from_params()
        self.network: torch.nn.Module | None = None
        self.pipeline: FeaturePipeline | None = None
        self.label_names: list[str] = []
        self.class_values: np.ndarray | None = None  # the non-string labels fit was given, in label order
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
        self.cut_by_time_budget_ = False  # the time budget, a guard, stopped a neural fit early
        # streaming decision rules fitted to a session with known segments (`actrec.stream.calibrate`)
        self.decision_rules: dict[str, Any] | None = None
        self.is_main_process = True
        self.world_size = 1

    __init__.__signature__ = estimator_signature(TrainConfig)  # type: ignore[attr-defined]

    def _config_from_params(self) -> TrainConfig:
        """A checked TrainConfig from the constructor arguments (copied: fit fills in options)."""
        given = copy.deepcopy({f.name: getattr(self, f.name) for f in fields(TrainConfig)})
        # a list or dict left unset (None) takes the dataclass's fresh default
        config = TrainConfig(**{name: value for name, value in given.items() if value is not None or name in NULLABLE})
        config.check()
        return config

    # ------------------------------------------------------------------ scikit-learn names
    def __sklearn_is_fitted__(self) -> bool:
        return self.network is not None

    @property
    def classes_(self) -> np.ndarray:
        """Class labels in `predict_proba`'s column order: the values `fit` was given (names, or
        the integers of an integer `y`)."""
        if self.class_values is not None:
            return self.class_values
        return np.asarray(self.label_names, dtype=object)

    def _fitted_pipeline(self) -> FeaturePipeline:
        """The feature pipeline, which `fit` (or `load`) sets before anything is featurised."""
        if self.pipeline is None:
            raise ConfigError("this Recognizer is not fitted; call fit or Recognizer.load first")
        return self.pipeline

    @property
    def network_(self) -> torch.nn.Module | None:
        return self.network

    @property
    def pipeline_(self) -> FeaturePipeline | None:
        return self.pipeline

    @property
    def window_length_(self) -> int:
        return self.window_length

    @property
    def history_(self) -> pd.DataFrame:
        return self.history

    # ------------------------------------------------------------------ public names
    @property
    def model_name(self) -> str:
        return self.config.model

    @property
    def capabilities(self) -> Capabilities:
        """What the model can do (`actrec.models.Capabilities`), from its fitted config."""
        return model_capabilities(self.config.model, self.config.model_options)

    @property
    def is_kernel_model(self) -> bool:
        """True for families fitted in closed form (random kernels + ridge head)."""
        return self.capabilities.closed_form

    # ------------------------------------------------------------------ the door
    def check_data(self, dataset: SequenceDataset) -> None:
        """Refuse data this configuration cannot train on, before any split or fitting: a model
        or augmentation that needs a skeleton given sensor data, unknown joints, NaN features."""
        config = self.config
        keypoints = dataset.is_keypoints and bool(dataset.schema)
        shape = "x".join(str(s) for s in dataset.X.shape[2:])
        if self.capabilities.needs_skeleton and not keypoints:
            raise ConfigError(
                f"model '{config.model}' needs keypoint data with a skeleton schema (X [N, T, J, C] and a schema); "
                f"{dataset.source} has {shape} values per step: choose another model, e.g. auto or inception"
            )
        if config.streams and not keypoints:
            raise ConfigError(
                f"{dataset.source}: streams need keypoint data with a skeleton schema (X [N, T, J, C] and schema)"
            )
        if config.joints:
            if not keypoints:
                raise ConfigError(
                    f"joints {config.joints} select skeleton joints, but {dataset.source} has {shape} values per step and no skeleton schema; drop --joints"
                )
            from actrec.features.keypoints import SelectJoints
            from actrec.skeletons.schema import get_schema

            SelectJoints.from_schema(get_schema(str(dataset.schema)), config.joints)
        if config.augment:
            from actrec.features.augment import build_augmenter

            build_augmenter(config.augment, dataset.schema if keypoints else None)
        self._check_values(dataset)

    def check_length(self, n_steps: int, source: str) -> None:
        """Refuse, in one line, sequences longer than a fixed-length model takes (`pooling=all`
        lays every step of the training window out in its head): never cut them silently."""
        if not self.capabilities.fixed_length or n_steps <= self.window_length:
            return
        w = self.window_length
        raise DataError(
            f"{source}: sequences of up to {n_steps} steps, but this '{self.config.model}' model takes at most {w} "
            f"(its training window, fixed by its options); cut them into {w}-step windows first (actrec dataset build "
            f"--window {w}, or actrec stream), or train with last_steps={w}"
        )

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        X: Any,
        y: Any = None,
        groups: Any = None,
        lengths: Any = None,
        label_names: Sequence[str] | None = None,
        validation: SequenceDataset | None = None,
        work_dir: str | Path | None = None,
        progress: bool = False,
        resume_from: str | Path | None = None,
    ) -> Recognizer:
        """Train on `X` (array `[N, T, F]` / `[N, T, J, C]` or a SequenceDataset).

        Options and data are checked first (`TrainConfig.check`, `check_data`), before any work.
        An integer (or other non-string) `y` without `label_names` becomes `classes_` as given, the
        way scikit-learn classifiers do. A stratified, group-aware `val_fraction` of the data picks
        the best epoch unless `validation` is given. Checkpoints go to `work_dir/checkpoints` when
        given, after every epoch, and stay there if the fit is stopped; `resume_from` (such a
        `last.ckpt`) continues that fit, with the same settings and data, to the weights a straight
        run reaches.
        """
        self.config = self._config_from_params()  # set_params may have changed the arguments
        self.class_values = None
        self.notes, self.cut_by_time_budget_ = [], False
        if not isinstance(X, SequenceDataset) and y is not None and label_names is None:
            y = np.asarray(y)
            if y.dtype.kind not in "USO":
                self.class_values, y = np.unique(y, return_inverse=True)
                label_names = [str(value) for value in self.class_values]
        dataset = as_dataset(X, y, groups, lengths, label_names)
        if dataset.y is None:
            raise DataError(f"{dataset.source}: has no labels; fit needs one label per sample")
        self.check_data(dataset)
        if validation is not None:
            self.check_data(validation)
        if self.config.last_steps:
            dataset = dataset.keep_last(self.config.last_steps)
            validation = validation.keep_last(self.config.last_steps) if validation is not None else None
        if validation is None:
            train, validation, _ = plan_splits(dataset, self.config.seed, self.config.val_fraction).parts(dataset)
        else:
            train = dataset
        self.label_names = list(dataset.label_names)
        self.sample_rate_hz = dataset.sample_rate_hz
        self.feature_names = dataset.feature_names
        self.schema = dataset.schema
        self.schema_definition = None
        if dataset.is_keypoints and dataset.schema:
            self.schema_definition = self.skeleton().to_dict()
        self.frame_shape = tuple(int(s) for s in dataset.X.shape[2:])
        self.window_length = dataset.n_steps
        self._fit(FitTask(dataset, train, validation, work_dir, progress, resume_from))
        if self.config.class_weight is None and self.config.sampler != "balanced":
            self.notes += imbalance_notes(train.labels, self.label_names)
        return self

    def _fit(self, task: FitTask) -> None:
        """Fit by the strategy the model's capabilities ask for (`actrec.training.strategies`):
        the ensemble `auto`, one network per skeleton stream, closed form, or gradient steps."""
        strategy = choose_strategy(self.capabilities, self.config.streams)
        outcome = strategy.fit(self, task)
        self.network, self.history, self.notes = outcome.network, outcome.history, outcome.notes
        self.validation_proba_ = outcome.validation_proba
        self.cut_by_time_budget_ = outcome.cut_by_time_budget
        self.is_main_process, self.world_size = outcome.is_main_process, outcome.world_size

    # ------------------------------------------------------------------ what fit strategies use
    def new(self, **params: Any) -> Recognizer:
        """An unfitted recognizer of this class with `params` (a member of an ensemble or a stream)."""
        return type(self)(**params)

    def member_options(self) -> dict[str, Any]:
        """The options an ensemble's member inherits: all but those that choose the model."""
        return member_options(self.config)

    def default_steps(self, dataset: SequenceDataset) -> list[Step]:
        config = self.config
        return networks.default_steps(dataset, config.joints, config.streams, self.capabilities.needs_skeleton)

    def build_network(self) -> torch.nn.Module:
        """The network the config describes, its options completed from the data (saved with it)."""
        config = self.config
        config.model_options = networks.complete_options(
            config.model_options, self.capabilities, self.window_length, self.pipeline
        )
        graph_schema = None
        if self.capabilities.needs_skeleton or config.streams:
            from actrec.features.keypoints import pipeline_schema

            graph_schema = pipeline_schema(self.skeleton(), self._fitted_pipeline())
        n_classes = len(self.label_names)
        return networks.build_network(
            config.model, config.model_options, config.streams, self.n_features, n_classes, self.pipeline, graph_schema
        )

    def skeleton(self) -> Any:
        """The model's skeleton `Schema`, rebuilt from the copy saved in the model (so a user's YAML
        file is not needed later); None for non-keypoint models."""
        if not self.schema:
            return None
        from actrec.skeletons.schema import get_schema, schema_from_dict

        if self.schema_definition:
            return schema_from_dict(self.schema_definition, source=f"model schema {self.schema}")
        return get_schema(self.schema)

    # ------------------------------------------------------------------ predict
    def _check_values(self, dataset: SequenceDataset, trained_schema: str | None = None) -> None:
        """Sensor/feature data must be finite; keypoint NaNs (joints the detector missed) are
        handled by the keypoint steps of a model with a skeleton: the data's own schema, or at
        predict time the model's, so a bare `[N, T, J, C]` array with gaps predicts as well."""
        if not (dataset.is_keypoints and (dataset.schema or trained_schema)):
            dataset.check_finite()

    def _check_input(self, dataset: SequenceDataset) -> None:
        """Refuse data the fitted pipeline cannot featurise: another step shape, non-finite values."""
        if self.pipeline is None:
            raise ConfigError("this Recognizer is not fitted; call fit or Recognizer.load first")
        shape = tuple(dataset.X.shape[2:])
        if self.frame_shape and shape != self.frame_shape:
            raise DataError(
                f"{dataset.source}: each step has shape {list(shape)} but the model was trained on "
                f"{list(self.frame_shape)}; give the same features (and joints) as in training"
            )
        self._check_values(dataset, self.schema)

    def batches(self, dataset: SequenceDataset) -> TransformedBatches:
        """The dataset featurised a batch at a time, when read (memory-mapped input stays on disk)."""
        self._check_input(dataset)
        return TransformedBatches(
            dataset.X, dataset.lengths, self._fitted_pipeline().transform, np.asarray(dataset.ids), dataset.source
        )

    def features(self, dataset: SequenceDataset) -> np.ndarray:
        self._check_input(dataset)
        features = self._fitted_pipeline().transform(dataset.X, dataset.lengths)
        if not np.isfinite(features).all():
            sample = int(np.argwhere(~np.isfinite(features))[0][0])
            raise DataError(
                f"{dataset.source}: sample {dataset.sample_id(sample)} gives non-finite features; check it for NaN or inf values"
            )
        return features

    def predict_proba(self, X: Any, lengths: Any = None, batch_size: int = 256) -> np.ndarray:
        """Class probabilities float32 `[N, C]`, columns in `classes_` (`label_names`) order.

        With `last_steps`, each sequence's last steps are used, as in training; a fixed-length
        model refuses longer sequences (`check_length`)."""
        dataset = as_dataset(X, lengths=lengths)
        if self.config.last_steps:
            dataset = dataset.keep_last(self.config.last_steps)
        self.check_length(int(dataset.lengths.max(initial=0)), dataset.source)
        batches = self.batches(dataset)
        if self.network is None:
            raise ConfigError("this Recognizer is not fitted; call fit or Recognizer.load first")
        out = np.empty((dataset.n_samples, len(self.label_names)), np.float32)
        with torch.inference_mode():
            for index in slices(dataset.n_samples, batch_size):  # featurised a batch at a time: memory flat in N
                x, length = torch.from_numpy(batches.rows(index)), torch.from_numpy(batches.lengths[index])
                out[index] = torch.softmax(self.network(x, length), dim=1).numpy()
        return out

    def predict(self, X: Any, lengths: Any = None) -> np.ndarray:
        """The most probable class `[N]`, as in `classes_` (label names, or fit's integer labels)."""
        proba = self.predict_proba(X, lengths)
        return self.classes_[proba.argmax(1)]

    # ------------------------------------------------------------------ consumers' door
    # what eval, predict and serve call on any recognizer (the clip recognizer has the same)
    def prediction_options(self, test_clips: int | None = None, test_crops: int | None = None) -> dict[str, Any]:
        """`predict_proba`'s keyword arguments for these command-line options: none apply here."""
        if test_clips is not None or test_crops is not None:
            raise ConfigError("--test-clips and --test-crops apply to clip models only; drop them for this model")
        return {}

    def read_data(self, data: Any, layout: Any) -> tuple[SequenceDataset, list[str]]:
        """(`data` as a dataset in this model's label order, lines about skipped samples: none).
        `layout`: how the user's files are laid out (`cli.layout.DataLayout`: `load`, `label_last`)."""
        from actrec.data.loading import check_label_last

        dataset = layout.load(data, label_names=self.label_names)
        check_label_last(data, dataset, self.frame_shape, layout.label_last)
        return dataset, []

    def predict_data(
        self, data: str | Path, options: Any, on_note: Any = None
    ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """(ids, probabilities, `{start_time, end_time}` of windows of recordings) of one data file,
        labelled or not; `options`: `predict_files.ReadOptions` (window and stride for recordings)."""
        from actrec.data.loading import check_label_last, load_for_prediction

        self.prediction_options(options.test_clips, options.test_crops)
        options = options.for_model(self.window_length)
        dataset = load_for_prediction(data, options.window, options.stride, options.label_last, options.class_names)
        check_label_last(data, dataset, self.frame_shape, options.label_last)
        where: dict[str, np.ndarray] = {
            key: dataset.meta[key] for key in ("start_time", "end_time") if key in dataset.meta
        }
        return np.asarray(dataset.ids), self.predict_proba(dataset), where

    # ------------------------------------------------------------------ save / load
    def describe(self) -> dict[str, str]:
        """What the model is and takes, one short line each, for a person (`actrec info`)."""
        rate = f" at {self.sample_rate_hz:g} Hz" if self.sample_rate_hz else ""
        if len(self.frame_shape) == 2:
            joints, channels = self.frame_shape
            inputs = f"keypoints [T, {joints}, {channels}]" + (f" ({self.schema})" if self.schema else "")
        else:
            names = self.feature_names or []
            shown = ", ".join(names[:6]) + (f", ... ({len(names)} in all)" if len(names) > 6 else "")
            inputs = f"features [T, {self.frame_shape[0] if self.frame_shape else '?'}]" + (
                f": {shown}" if names else ""
            )
        steps = " -> ".join(step.name for step in self.pipeline.steps) if self.pipeline else ""
        rows = {
            "model": self.config.model,
            "kind": self.kind,
            "window": f"{self.window_length} steps{rate}",
            "input": inputs,
            "features": steps,
        }
        options = self.config.model_options or {}
        if options.get("members"):  # an ensemble (`auto`): its members and their weights
            weights = options.get("weights") or [1.0 / len(options["members"])] * len(options["members"])
            rows["members"] = ", ".join(
                f"{member['model']} (weight {weight:.2f})" for member, weight in zip(options["members"], weights)
            )
        return rows

    def metadata(self) -> dict[str, Any]:
        return {
            "format": "actrec-model",
            "kind": self.kind,
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
            "class_values": None if self.class_values is None else self.class_values.tolist(),
        }

    def save(self, path: str | Path) -> Path:
        """Write one self-contained `.actrec` file (safetensors + metadata + checksum,
        `io/model_file.py`; a RUN folder gets model.actrec)."""
        if self.network is None:
            raise ConfigError("nothing to save: this Recognizer is not fitted")
        return save_model(path, self.kind, self.network, self.metadata())

    @classmethod
    def _from_metadata(cls, meta: dict[str, Any]) -> Recognizer:
        """An unfitted Recognizer with everything but the network set from a model file's metadata."""
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
        if meta.get("class_values") is not None:
            rec.class_values = np.asarray(meta["class_values"])
        return rec

    def _network_for(self, tensors: dict[str, torch.Tensor], path: Path) -> torch.nn.Module:
        """The network the metadata describes, once a build on the meta device (no memory) has
        shown its tensors have the file's shapes: an edited config such as `hidden_sizes: [200000]`
        would otherwise allocate hundreds of GB before the mismatch shows. Kernel models compute
        their kernels while being built, which the meta device cannot; they are built directly."""
        try:
            with torch.device("meta"):
                planned = {name: tuple(value.shape) for name, value in self.build_network().state_dict().items()}
        except (RuntimeError, NotImplementedError):
            planned = None
        given = {name: tuple(value.shape) for name, value in tensors.items()}
        if planned is not None and planned != given:
            name = next(name for name in sorted(planned.keys() | given.keys()) if planned.get(name) != given.get(name))
            raise ModelFileError(
                f"{path}: its config describes a network whose '{name}' has shape {list(planned.get(name, ()))}, but "
                f"the file holds {list(given.get(name, ())) if name in given else 'no such tensor'}; the file was edited or "
                "damaged; re-save it with actrec"
            )
        return self.build_network()

    @classmethod
    def load(cls, path: str | Path) -> Recognizer:
        """Load a model saved by `save` or `actrec train` (the file, or the RUN folder holding it)."""
        meta, tensors, path = load_model(path, cls.kind)
        with metadata_errors(path):
            rec = cls._from_metadata(meta)
            rec.network = rec._network_for(tensors, path)
        try:
            rec.network.load_state_dict(tensors)
        except RuntimeError as error:
            first = str(error).splitlines()[0]
            saved = str(meta.get("actrec_version", "?"))
            if saved.startswith(("0.1.", "0.2.")) and "combination_0" in first:
                raise ModelFileError(
                    f"{path}: a kernel model made by actrec {saved}; version 0.3 redefined these models "
                    "so they stream frame by frame (README: Models); train it again"
                ) from None
            raise ModelFileError(
                f"{path}: weights do not fit the saved model config ({first}); the file is damaged"
            ) from None
        rec.network.eval()
        return rec
