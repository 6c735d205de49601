"""The public objects: one door (`BaseRecognizer`: fit / predict_proba / save / load) for every
kind; `Recognizer` reads sequences (sensor rows, keypoints)."""

from actrec.config import TrainConfig
from actrec.recognizers.base import KINDS, BaseRecognizer
from actrec.recognizers.sequence import Recognizer

__all__ = ["KINDS", "BaseRecognizer", "Recognizer", "TrainConfig"]
