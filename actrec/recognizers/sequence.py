"""`Recognizer`: the sequence kind of `BaseRecognizer` (whose final `fit` / `predict_proba` call
the hooks here).

Input is converted once, at the door, so every model gets clean `[N, T, F]` float32 features and
a wrong input fails with one sentence. How the network is fitted is a strategy in
`actrec.training.strategies`, chosen from the model's capabilities. The model file's header holds
the model config, label names and the fitted feature pipeline: loading never executes code from
the file.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from actrec.config import TrainConfig, member_options, renamed_options
from actrec.data.dataset import SequenceDataset, as_dataset
from actrec.data.labels import imbalance_notes
from actrec.errors import ConfigError, DataError
from actrec.features.pipeline import FeaturePipeline, Step
from actrec.models import Capabilities, model_capabilities
from actrec.recognizers.base import BaseRecognizer, fitted
from actrec.training import checks, networks
from actrec.training.feature_store import TransformedBatches
from actrec.training.strategies import choose_strategy, fit_task

__all__ = ["Recognizer", "TrainConfig"]

# the fitted state a model file's header holds as it is (besides the config, the pipeline's state
# and the values converted for JSON)
SAVED_STATE = ("label_names", "window_length", "sample_rate_hz", "feature_names", "schema", "n_features")
LATER_STATE = ("schema_definition", "decision_rules")  # absent from the files of older versions


class Recognizer(BaseRecognizer):
    """Sequence classifier: `Recognizer(model="gru", epochs=30).fit(X, y).predict(X_new)`.

    Keyword arguments are the fields of `TrainConfig` (same names and defaults, `model="auto"` as
    in the CLI; the signature is generated from the dataclass), stored as given, so
    scikit-learn's `get_params`/`set_params`, `clone`, `cross_validate` and `GridSearchCV` work on
    it. After `fit` or `load`: `classes_`, `network_` (eval mode), `pipeline_`, `label_names_`,
    `window_length_`, `sample_rate_hz_`, `feature_names_`, `schema_`, `history_` (each also
    without the `_`), and `config`, the TrainConfig the model was fitted with. `history` is what the
    fit strategy has: epochs, a penalty search, or members.
    """

    kind = "sequence"  # what `load_recognizer` tells apart in a model file
    # what one prediction reads: frames (sensor rows or keypoints), also fed one at a time to a
    # Streamer; the consumers that parse input (serve's bodies, stream's sources, export's graphs)
    # read this tag, never `kind`
    input_medium = "frames"
    input_types = (np.ndarray, SequenceDataset, list, tuple)
    config_class = TrainConfig

    # fitted state, set by `fit` or `load` (class defaults: "not fitted yet")
    pipeline_: FeaturePipeline | None = None
    class_values_: np.ndarray | None = None  # the non-string labels fit was given, in label order
    window_length_ = 0
    sample_rate_hz_: float | None = None
    feature_names_: list[str] | None = None
    schema_: str | None = None
    schema_definition_: dict[str, Any] | None = None
    frame_shape_: tuple[int, ...] = ()
    n_features_ = 0
    history_ = pd.DataFrame()  # what the fit strategy records: epochs, a penalty search, or members
    validation_proba_: np.ndarray | None = None  # out-of-sample, of models refitted on train + validation
    cut_by_time_budget_ = False  # the time budget, a guard, stopped a neural fit early
    # streaming decision rules fitted to a session with known segments (`actrec.stream.calibrate`)
    decision_rules_: dict[str, Any] | None = None
    is_main_process_, world_size_ = True, 1
    pipeline = fitted("pipeline")
    class_values = fitted("class_values")
    window_length = fitted("window_length")
    sample_rate_hz = fitted("sample_rate_hz")
    feature_names = fitted("feature_names")
    schema = fitted("schema")
    schema_definition = fitted("schema_definition")
    frame_shape = fitted("frame_shape")
    n_features = fitted("n_features")
    decision_rules = fitted("decision_rules")
    is_main_process = fitted("is_main_process")
    world_size = fitted("world_size")

    # ------------------------------------------------------------------ scikit-learn names
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

    # ------------------------------------------------------------------ public names
    @property
    def capabilities(self) -> Capabilities:
        """What the model can do (`actrec.models.Capabilities`), from its fitted config."""
        return model_capabilities(self.config.model, self.config.model_options)

    # ------------------------------------------------------------------ the door
    def check_data(self, dataset: SequenceDataset) -> None:
        """Refuse data this configuration cannot train on, before any split or fitting
        (`training/checks.py`: a skeleton a model needs, joints, augmentations, finite values)."""
        checks.check_training_data(self.config, self.capabilities, dataset)

    def check_length(self, n_steps: int, source: str) -> None:
        """Refuse sequences longer than a fixed-length model takes; never cut them silently."""
        checks.check_length(self.capabilities, self.config.model, self.window_length, n_steps, source)

    # ------------------------------------------------------------------ fit (the door is BaseRecognizer.fit)
    def _training_data(self, X: Any, y: Any, groups: Any, lengths: Any, label_names: Any) -> SequenceDataset:
        """`X` (array `[N, T, F]` / `[N, T, J, C]` or a SequenceDataset) as a labelled dataset. An
        integer (or other non-string) `y` without `label_names` becomes `classes_` as given, the
        way scikit-learn classifiers do."""
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
        return dataset

    def _check_training_data(self, data: SequenceDataset) -> None:
        self.check_data(data)

    def _fit(
        self,
        data: SequenceDataset,
        validation: SequenceDataset | None,
        work_dir: str | Path | None,
        progress: bool,
        resume_from: str | Path | None,
    ) -> None:
        """Fit by the strategy the model's capabilities ask for (`actrec.training.strategies`):
        the ensemble `auto`, one network per skeleton modality, closed form, or gradient steps.
        Checkpoints go to `work_dir/checkpoints` when given, after every epoch, and stay there if
        the fit is stopped; `resume_from` (such a `last.ckpt`) continues that fit, with the same
        settings and data, to the weights a straight run reaches."""
        task = fit_task(data, validation, self.config, work_dir, progress, resume_from)
        self.label_names = list(data.label_names)
        self.sample_rate_hz = data.sample_rate_hz
        self.feature_names = data.feature_names
        self.schema = data.schema
        self.schema_definition = None
        if data.is_keypoints and data.schema:
            self.schema_definition = self.skeleton().to_dict()
        self.frame_shape = tuple(int(s) for s in data.X.shape[2:])
        self.window_length = task.dataset.n_steps
        strategy = choose_strategy(self.capabilities, self.config.modalities)
        outcome = strategy.fit(self, task)
        self.network, self.history, self.notes = outcome.network, outcome.history, outcome.notes
        self.validation_proba_ = outcome.validation_proba
        self.cut_by_time_budget_ = outcome.cut_by_time_budget
        self.is_main_process, self.world_size = outcome.is_main_process, outcome.world_size
        if self.config.class_weight is None and self.config.sampler != "balanced":
            self.notes += imbalance_notes(task.train.labels, self.label_names)

    # ------------------------------------------------------------------ what fit strategies use
    def new(self, **params: Any) -> Recognizer:
        """An unfitted recognizer of this class with `params` (a member of an ensemble or a stream)."""
        return type(self)(**params)

    def member_options(self) -> dict[str, Any]:
        """The options an ensemble's member inherits: all but those that choose the model."""
        return member_options(self.config)

    def default_steps(self, dataset: SequenceDataset) -> list[Step]:
        config = self.config
        return networks.default_steps(dataset, config.joints, config.modalities, self.capabilities.needs_skeleton)

    def build_network(self) -> torch.nn.Module:
        """The network the config describes, its options completed from the data (saved with it)."""
        config = self.config
        config.model_options = networks.complete_options(
            config.model_options, self.capabilities, self.window_length, self.pipeline, self.n_features
        )
        graph_schema = None
        if self.capabilities.needs_skeleton or config.modalities:
            from actrec.features.keypoints import pipeline_schema

            graph_schema = pipeline_schema(self.skeleton(), self._fitted_pipeline())
        n_classes = len(self.label_names)
        return networks.build_network(
            config.model,
            config.model_options,
            config.modalities,
            self.n_features,
            n_classes,
            self.pipeline,
            graph_schema,
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
    def _check_input(self, dataset: SequenceDataset) -> None:
        self._fitted_pipeline()
        checks.check_input(dataset, self.frame_shape, self.schema)

    def batches(self, dataset: SequenceDataset) -> TransformedBatches:
        """The dataset featurised a batch at a time, when read (memory-mapped input stays on disk)."""
        self._check_input(dataset)
        return TransformedBatches(
            dataset.X, dataset.lengths, self._fitted_pipeline().transform, np.asarray(dataset.ids), dataset.source
        )

    def features(self, dataset: SequenceDataset) -> np.ndarray:
        self._check_input(dataset)
        return checks.check_finite_features(self._fitted_pipeline().transform(dataset.X, dataset.lengths), dataset)

    def _prediction_data(self, X: Any, lengths: Any) -> SequenceDataset:
        """With `last_steps`, each sequence's last steps are used, as in training; a fixed-length
        model refuses longer sequences (`check_length`)."""
        dataset = as_dataset(X, lengths=lengths)
        if self.config.last_steps:
            dataset = dataset.keep_last(self.config.last_steps)
        self.check_length(int(dataset.lengths.max(initial=0)), dataset.source)
        return dataset

    def _predict_proba(self, data: SequenceDataset, batch_size: int | None, **options: Any) -> np.ndarray:
        assert self.network is not None
        return networks.predict_in_batches(self.network, self.batches(data), len(self.label_names), batch_size or 256)

    # ------------------------------------------------------------------ consumers' door
    # what eval, predict and serve call on any recognizer (the clip recognizer has the same)
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
        labelled or not; `options`: `jobs.predict_files.ReadOptions` (window and stride for recordings)."""
        from actrec.data.loading import check_label_last, load_for_prediction

        self.prediction_options(options.test_clips, options.test_crops)
        options = options.for_model(self.window_length)
        dataset = load_for_prediction(
            data, options.window, options.stride, options.label_last, options.class_names, model=self
        )
        check_label_last(data, dataset, self.frame_shape, options.label_last)
        where: dict[str, np.ndarray] = {
            key: dataset.meta[key] for key in ("start_time", "end_time") if key in dataset.meta
        }
        return np.asarray(dataset.ids), self.predict_proba(dataset), where

    # ------------------------------------------------------------------ save / load
    def describe(self) -> dict[str, str]:
        """What the model is and takes, one short line each, for a person (`actrec info`)."""
        from actrec.evaluation.model_summary import sequence_model_summary

        return sequence_model_summary(self.metadata(), self.kind)

    def _metadata(self) -> dict[str, Any]:
        """The config and the fitted state but the network."""
        fitted_state = {name: getattr(self, name) for name in SAVED_STATE + LATER_STATE}
        return fitted_state | {
            "config": asdict(self.config),
            "frame_shape": list(self.frame_shape),
            "pipeline": self.pipeline.get_state() if self.pipeline else [],
            "class_values": None if self.class_values is None else self.class_values.tolist(),
        }

    @classmethod
    def _from_metadata(cls, meta: dict[str, Any]) -> Recognizer:
        """An unfitted Recognizer with everything but the network set from a model file's metadata."""
        rec = cls(**renamed_options(meta["config"]))  # a file saved before an option was renamed
        rec._configure()
        for name in SAVED_STATE + LATER_STATE:
            setattr(rec, name, meta[name] if name in SAVED_STATE else meta.get(name))
        rec.window_length, rec.n_features = int(meta["window_length"]), int(meta["n_features"])
        rec.frame_shape = tuple(meta["frame_shape"])
        rec.pipeline = FeaturePipeline.from_state(meta["pipeline"])
        if meta.get("class_values") is not None:
            rec.class_values = np.asarray(meta["class_values"])
        return rec

    def _network_for_file(self, tensors: dict[str, torch.Tensor], path: Path) -> torch.nn.Module:
        return networks.network_for_file(self.build_network, tensors, path)
