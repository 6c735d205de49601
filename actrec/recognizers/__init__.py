"""The public objects: one door (`BaseRecognizer`: fit / predict_proba / save / load) for every
kind; `Recognizer` reads sequences (sensor rows, keypoints), `VideoRecognizer` video clips;
`load_recognizer` loads a model file of any kind."""

from actrec.config import TrainConfig
from actrec.recognizers.base import KINDS, BaseRecognizer, load_recognizer
from actrec.recognizers.clip import VideoRecognizer
from actrec.recognizers.clip_config import VideoTrainConfig
from actrec.recognizers.sequence import Recognizer

__all__ = [
    "KINDS",
    "BaseRecognizer",
    "Recognizer",
    "TrainConfig",
    "VideoRecognizer",
    "VideoTrainConfig",
    "load_recognizer",
]
