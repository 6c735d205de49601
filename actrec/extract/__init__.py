"""Keypoints from video: MediaPipe detectors run frame by frame into `Recording` files.

`extract_video(path, detector)` gives one Recording (`actrec.jobs.extract_videos` runs it over
folders for `actrec extract`: resume, parallel processes, progress bar);
`extract_people_video(path)` finds, poses and tracks every person (`--people`). MediaPipe and
OpenCV are optional and imported only when a video is processed.
"""

from actrec.extract.core import Crop, extract_video
from actrec.extract.detectors import DETECTORS, MEDIAPIPE_INSTALL_HINT
from actrec.extract.people import PeopleConfig, PeoplePoser, extract_people_video

__all__ = [
    "DETECTORS",
    "MEDIAPIPE_INSTALL_HINT",
    "Crop",
    "PeopleConfig",
    "PeoplePoser",
    "extract_people_video",
    "extract_video",
]
