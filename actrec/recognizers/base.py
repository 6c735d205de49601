"""`BaseRecognizer`: the one door every recognizer kind goes through (aeon's template method).

`fit`, `predict_proba` and `predict` are final: they check the options (`config`, at fit, as
scikit-learn asks, never in `__init__`), refuse input of the wrong medium in one sentence, check
the data against what the model declares it can take, and only then call the subclass's `_fit` /
`_predict_proba`. A subclass that defines `fit` or `predict_proba` itself is refused when the class
is made. Constructor arguments are the fields of the kind's config dataclass (`config_class`),
stored as given, so `get_params`, `set_params` and `sklearn.base.clone` work on every kind; fitted
state is stored under names ending in `_` (read also without it: `network` is `network_`).
Persistence is here too: one `.actrec` file for every kind (`io/model_file.py`), and `KINDS`, the
kind -> class table `load_recognizer` reads.
"""

from __future__ import annotations

import copy
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin

from actrec.config import TrainingOptions, estimator_signature, renamed_options
from actrec.errors import ConfigError, DataError, ModelFileError
from actrec.io.model_file import load_model, metadata_errors, save_model

# the methods of the door; a subclass writes `_fit` / `_predict_proba` instead
FINAL = ("fit", "predict_proba", "predict", "save", "load")
# kind (as written in a model file) -> recognizer class, filled as the classes are defined
KINDS: dict[str, type[BaseRecognizer]] = {}


def fitted(name: str) -> property:
    """The fitted attribute `name`, stored as `name_` (scikit-learn's naming) and read and set under
    both names."""
    stored = f"{name}_"
    return property(
        lambda self: getattr(self, stored),
        lambda self, value: setattr(self, stored, value),
        doc=f"fitted state, stored as `{stored}`",
    )


class BaseRecognizer(ClassifierMixin, BaseEstimator):
    """What every recognizer kind shares: the door, the scikit-learn contract and the model file.

    A subclass declares `kind` (the model file's), `input_medium` (`frames` | `video`: what one
    prediction reads, which the consumers that parse input read), `input_types` (the Python types
    its `fit`/`predict_proba` take, for the one-line refusal) and `config_class` (its keyword
    arguments), and writes the hooks below the line "what a kind writes".
    """

    kind: ClassVar[str]
    input_medium: ClassVar[str]
    input_types: ClassVar[tuple[type, ...]]
    config_class: ClassVar[type[TrainingOptions]]
    input_help: ClassVar[str] = ""  # how to make the input, for the refusal of another type

    # fitted state (the class defaults say "not fitted yet")
    config_: Any = None
    network_: torch.nn.Module | None = None
    label_names_: list[str] = []  # noqa: RUF012  replaced, never changed in place
    history_: Any = None
    notes_: list[str] = []  # noqa: RUF012  replaced, never changed in place
    network = fitted("network")
    label_names = fitted("label_names")
    history = fitted("history")
    notes = fitted("notes")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        overridden = [name for name in FINAL if name in vars(cls)]
        if overridden:
            raise TypeError(
                f"{cls.__name__} defines {', '.join(overridden)}, which BaseRecognizer keeps final; "
                "write _fit / _predict_proba / _from_metadata instead"
            )
        if "config_class" in vars(cls):
            cls.__init__ = _estimator_init(cls.config_class)  # type: ignore[method-assign]
        if "kind" in vars(cls):
            KINDS[cls.kind] = cls

    # ------------------------------------------------------------------ options
    def _checked_config(self) -> Any:
        """A checked config from the constructor arguments (deep-copied: fit fills in options)."""
        given = copy.deepcopy({f.name: getattr(self, f.name) for f in fields(self.config_class)})
        nullable = {f.name for f in fields(self.config_class) if f.default_factory is MISSING}
        # a list or dict left unset (None) takes the dataclass's fresh default
        config = self.config_class(**{k: v for k, v in given.items() if v is not None or k in nullable})
        config.check()
        return config

    def _configure(self) -> None:
        """Check the options at the start of a fit (again after `set_params`) into `config_`."""
        self.config_ = self._checked_config()

    @property
    def config(self) -> Any:
        """The checked config (`config_`): the one fitted with once fitted (or loaded), else one
        made from the arguments when first read (a bad option raises ConfigError here or in `fit`,
        never in `__init__`)."""
        if self.config_ is None:
            self._configure()
        return self.config_

    def set_params(self, **params: Any) -> Any:
        """scikit-learn's `set_params`; an unfitted recognizer's `config` is then made afresh."""
        super().set_params(**params)
        if not self.__sklearn_is_fitted__():
            self.config_ = None
        return self

    @property
    def model_name(self) -> str:
        return str(self.config.model)

    def __sklearn_is_fitted__(self) -> bool:
        return self.network_ is not None

    def _not_fitted(self) -> ConfigError:
        name = type(self).__name__
        return ConfigError(f"this {name} is not fitted; call fit or {name}.load first")

    def _check_medium(self, X: Any) -> None:
        if not isinstance(X, self.input_types):
            raise DataError(
                f"a {self.kind} recognizer reads {self.input_medium} ({' or '.join(t.__name__ for t in self.input_types)}), "
                f"not {type(X).__name__}{'; ' + self.input_help if self.input_help else ''}"
            )

    # ------------------------------------------------------------------ the door (final)
    def fit(
        self,
        X: Any,
        y: Any = None,
        groups: Any = None,
        lengths: Any = None,
        label_names: Any = None,
        validation: Any = None,
        work_dir: str | Path | None = None,
        progress: bool = False,
        resume_from: str | Path | None = None,
    ) -> Any:
        """Check the options, the input's medium and the data against the model's capabilities,
        then fit (`_fit`). `validation` (same medium) picks the best epoch when given, else a
        stratified, group-aware `val_fraction` of the data; `work_dir` keeps a checkpoint per
        epoch and `resume_from` (one of them) continues that fit."""
        self._configure()
        self._check_medium(X)
        if validation is not None:
            self._check_medium(validation)
        data = self._training_data(X, y, groups, lengths, label_names)
        self._check_training_data(data)
        if validation is not None:
            self._check_training_data(validation)
        self._fit(data, validation, work_dir, progress, resume_from)
        return self

    def predict_proba(
        self,
        X: Any,
        lengths: Any = None,
        batch_size: int | None = None,
        test_clips: int | None = None,
        test_crops: int | None = None,
    ) -> np.ndarray:
        """Class probabilities float32 `[N, C]`, columns in `classes_` order. `lengths`: of an
        array of sequences; `test_clips`/`test_crops`: views per video of a clip model (None: as
        saved; refused by a model they do not apply to)."""
        if not self.__sklearn_is_fitted__():
            raise self._not_fitted()
        options = self.prediction_options(test_clips, test_crops)
        self._check_medium(X)
        return self._predict_proba(self._prediction_data(X, lengths), batch_size, **options)

    def predict(self, X: Any, lengths: Any = None) -> np.ndarray:
        """The most probable class `[N]`, as in `classes_`."""
        return self.classes_[self.predict_proba(X, lengths).argmax(1)]

    @property
    def classes_(self) -> np.ndarray:
        """Class labels in `predict_proba`'s column order."""
        return np.asarray(self.label_names_, dtype=object)

    def prediction_options(self, test_clips: int | None = None, test_crops: int | None = None) -> dict[str, Any]:
        """`_predict_proba`'s keyword arguments for these command-line options (none by default)."""
        if test_clips is not None or test_crops is not None:
            raise ConfigError("--test-clips and --test-crops apply to clip models only; drop them for this model")
        return {}

    # ------------------------------------------------------------------ the model file (final)
    def metadata(self) -> dict[str, Any]:
        """What the model file's header holds besides the weights (its `kind` and format included)."""
        from actrec import __version__

        return {"format": "actrec-model", "kind": self.kind, "actrec_version": __version__} | self._metadata()

    def save(self, path: str | Path) -> Path:
        """Write one self-contained `.actrec` file (safetensors + metadata + checksum,
        `io/model_file.py`; a RUN folder gets model.actrec)."""
        if self.network_ is None:
            raise ConfigError(f"nothing to save: this {type(self).__name__} is not fitted")
        return save_model(path, self.kind, self.network_, self.metadata())

    @classmethod
    def load(cls, path: str | Path) -> Any:
        """Load a model of this kind saved by `save` or `actrec train` (the file, or the RUN folder
        holding it); a file of another kind is refused in one line."""
        meta, tensors, path = load_model(path, cls.kind)
        with metadata_errors(path):
            rec = cls._from_metadata(meta)
            rec.network_ = rec._network_for_file(tensors, path)
        from actrec.training.networks import load_weights

        load_weights(rec.network_, tensors, path, str(meta.get("actrec_version", "?")))
        return rec

    # ------------------------------------------------------------------ what a kind writes
    def _training_data(self, X: Any, y: Any, groups: Any, lengths: Any, label_names: Any) -> Any:
        raise NotImplementedError

    def _check_training_data(self, data: Any) -> None:
        raise NotImplementedError

    def _fit(
        self, data: Any, validation: Any, work_dir: str | Path | None, progress: bool, resume_from: str | Path | None
    ) -> None:
        raise NotImplementedError

    def _prediction_data(self, X: Any, lengths: Any) -> Any:
        raise NotImplementedError

    def _predict_proba(self, data: Any, batch_size: int | None, **options: Any) -> np.ndarray:
        raise NotImplementedError

    def _metadata(self) -> dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def _from_metadata(cls, meta: dict[str, Any]) -> Any:
        raise NotImplementedError

    def _network_for_file(self, tensors: dict[str, torch.Tensor], path: Path) -> torch.nn.Module:
        raise NotImplementedError


def load_recognizer(path: str | Path) -> Any:
    """The one loader of model files: the recognizer of the kind the file's (or RUN folder's)
    metadata names (`KINDS`: `Recognizer`, `VideoRecognizer`)."""
    import actrec.recognizers  # noqa: F401  (defines every kind)
    from actrec import __version__
    from actrec.io.model_file import model_kind, model_path, read_model_file

    file = model_path(Path(path))
    kind = model_kind(read_model_file(file, with_tensors=False)[0])
    if kind not in KINDS:
        raise ModelFileError(
            f"{file}: a model of kind '{kind}', which actrec {__version__} does not know (it reads "
            f"{', '.join(sorted(KINDS))}); load it with the actrec version that saved it"
        )
    return KINDS[kind].load(path)


def _estimator_init(config_class: type) -> Any:
    """An `__init__` whose keyword arguments are `config_class`'s fields, storing each as given
    (an option's old name, `config.RENAMED`, still works, with a warning naming the new one)."""
    signature = estimator_signature(config_class)

    def __init__(self: BaseRecognizer, *args: Any, **params: Any) -> None:
        try:
            bound = signature.bind(self, *args, **renamed_options(params, warn=True))
        except TypeError as error:
            if "unexpected keyword" not in str(error):
                raise  # a misplaced positional argument
            known = ", ".join(name for name in signature.parameters if name != "self")
            raise ConfigError(f"{type(self).__name__}: {error}; its options are: {known}") from None
        bound.apply_defaults()
        for name, value in list(bound.arguments.items())[1:]:
            setattr(self, name, value)

    __init__.__signature__ = signature  # type: ignore[attr-defined]
    __init__.__doc__ = f"Store the options ({config_class.__name__}'s fields) as given; `fit` checks them."
    return __init__


__all__ = ["KINDS", "BaseRecognizer", "fitted", "load_recognizer"]
