"""Where live frames come from: a video file or camera (through keypoint extraction), or a
sensor CSV session (`io.session`) replayed at its sample rate.

`open_source(spec, recognizer)` reads `FILE`, `webcam:N` or `csv:FILE`. A source yields
`SourceFrame`s; `extractor_for(recognizer)` turns a video image into the raw frame the model
takes (MediaPipe keypoints in pixels, as `actrec extract` writes them).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from actrec.errors import ConfigError, DataError


@dataclass
class SourceFrame:
    """One captured frame: `values` is a sensor row `[F]`, `image` a BGR video frame."""

    index: int
    time: float
    values: np.ndarray | None = None
    image: np.ndarray | None = None


class CsvSource:
    """A recorded sensor session read by `io.session` (the training long CSV's parser): columns
    matched by name (by order for a model trained from arrays), one sequence picked by
    `sequence_id`, checked against (or resampled to) the model's rate."""

    live = False

    def __init__(self, path: str | Path, recognizer: Any, sequence_id: str | None = None, resample: bool = False) -> None:
        from actrec.io.session import check_rate, read_session

        frame_shape = tuple(getattr(recognizer, "frame_shape", ()) or ())
        n_features = frame_shape[0] if len(frame_shape) == 1 else None
        session = read_session(path, recognizer.feature_names, n_features, sequence_id)
        self.session = check_rate(session, recognizer.sample_rate_hz, resample)
        self.times, self.values = self.session.times, self.session.values
        self.rate_hz = self.session.rate_hz or 1.0

    def frames(self) -> Iterator[SourceFrame]:
        for index, (time, values) in enumerate(zip(self.times, self.values)):
            yield SourceFrame(index, float(time), values=values)

    def close(self) -> None:
        pass


class VideoSource:
    """A video file (`live` False: every frame is kept) or a camera `webcam:N` (`live` True)."""

    def __init__(self, spec: str) -> None:
        from actrec.io.video import VideoReader, import_cv2

        cv2 = import_cv2()
        self.live = spec.startswith("webcam:")
        if self.live:
            try:
                device = int(spec.split(":", 1)[1])
            except ValueError:
                raise ConfigError(f"--source '{spec}': give a camera number, e.g. webcam:0") from None
            self._capture = cv2.VideoCapture(device)
            if not self._capture.isOpened():
                raise DataError(f"camera {device} cannot be opened; check it is connected and not in use")
            fps = float(self._capture.get(cv2.CAP_PROP_FPS) or 0.0)
            self.rate_hz = fps if fps > 0 else 30.0
            self.frame_count = 0
            self._reader = None
        else:
            self._reader = VideoReader(spec)
            if self._reader.info.fps <= 0:
                raise DataError(f"{spec}: the video reports no frame rate; re-encode it (e.g. ffmpeg -r 30)")
            self.rate_hz = self._reader.info.fps
            self.frame_count = self._reader.info.frame_count

    def frames(self) -> Iterator[SourceFrame]:
        if self._reader is not None:
            images: Iterator[np.ndarray] = self._reader.frames()
        else:
            images = iter(lambda: self._read_camera(), None)
        for index, image in enumerate(images):
            yield SourceFrame(index, index / self.rate_hz, image=image)

    def _read_camera(self) -> np.ndarray | None:
        ok, image = self._capture.read()
        return image if ok else None

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
        else:
            self._capture.release()


def open_source(spec: str, recognizer: Any, sequence_id: str | None = None, resample: bool = False) -> CsvSource | VideoSource:
    """`csv:FILE`, `webcam:N` or a video file path; `sequence_id` and `resample` apply to csv: only."""
    if spec.startswith("csv:"):
        return CsvSource(spec[4:], recognizer, sequence_id, resample)
    if sequence_id is not None or resample:
        raise ConfigError("--id and --resample go with a csv: source; a video plays at its own frame rate")
    return VideoSource(spec)


def extractor_for(recognizer: Any, people: bool = False) -> Callable[[np.ndarray], Any]:
    """BGR image -> keypoints `[J, C]` in pixels (None when nobody is detected) in the skeleton the
    model was trained on: the smallest MediaPipe detector whose joints include the model's joints
    by name (so a COCO-17 model runs on MediaPipe pose), keeping the model's C channels.

    people: every person, found, posed and tracked (`extract.people.PeoplePoser`):
    image -> `{track_id: [J, C]}`, for `stream.people.PeopleStreamer`."""
    from actrec.extract.detectors import DETECTORS, MediaPipeDetector
    from actrec.io.video import import_cv2
    from actrec.skeletons import get_schema
    from actrec.skeletons.mapping import joint_index

    model_schema = recognizer.skeleton()
    if model_schema is None:
        raise ConfigError("streaming video needs a model trained on keypoints; this one was trained on other data")
    chosen = None
    for name, spec in sorted(DETECTORS.items(), key=lambda item: item[1].n_joints):
        index = joint_index(get_schema(spec.schema), model_schema)
        if index is not None:
            chosen = (name, index)
            break
    if chosen is None:
        raise ConfigError(f"no MediaPipe detector gives every joint of the model's skeleton '{model_schema.name}'; "
                          f"stream keypoints you extract yourself as csv: instead")
    index, channels = chosen[1], int(recognizer.frame_shape[-1])
    if people:
        from actrec.extract.people import PeoplePoser

        if chosen[0] != "pose":
            raise ConfigError(f"--people poses each person with MediaPipe pose, which lacks joints of '{model_schema.name}'")
        poser = PeoplePoser()
        return lambda image: {track: found[index, :channels] for track, found in poser(image).items()}
    cv2 = import_cv2()
    detector = MediaPipeDetector(chosen[0])

    def extract(image: np.ndarray) -> np.ndarray | None:
        found = detector.detect(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
        if found is None:
            return None
        height, width = image.shape[:2]
        pixels = found * np.array([width, height, width, 1.0], dtype=np.float32)
        return pixels[index, :channels]

    return extract
