"""Where live frames come from: a video file or camera (through keypoint extraction), or a
recorded session replayed at its sample rate: a sensor or keypoint CSV (`io.session`), a keypoint
recording `.npz`, or OpenPose, COCO or MediaPipe JSON (read by `data.keypoint_sources`, as
`actrec predict` reads them).

`open_source(spec, recognizer)` reads `FILE`, `webcam:N`, `csv:FILE`, `REC.npz`, `FILE.json` or `JSON_DIR`. A source yields
`SourceFrame`s; `extractor_for(recognizer)` turns a video image into the raw frame the model
takes (MediaPipe keypoints in pixels, as `actrec extract` writes them), `PeopleExtractor(recognizer)`
those of every person in it, tracked (`stream --people`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from actrec.errors import ConfigError, DataError
from actrec.stream.stages import StageTime

if TYPE_CHECKING:
    from actrec.extract.people import PeopleConfig


@dataclass
class SourceFrame:
    """One captured frame: `values` is a sensor row `[F]` or keypoints `[J, C]`, `image` a BGR video frame."""

    index: int
    time: float
    values: np.ndarray | None = None
    image: np.ndarray | None = None


class SessionSource:
    """A recorded session replayed frame by frame: `values` float32 `[T, F]` for a sensor model, or
    `[T, J, C]` for a keypoint model (NaN where a joint was not detected), at `times [T]` seconds,
    checked against (or resampled to) the model's rate."""

    live = False

    def __init__(self, session: Any, recognizer: Any, resample: bool = False) -> None:
        from actrec.io.session import check_rate

        self.session = check_rate(session, recognizer.sample_rate_hz, resample)
        frame_shape = model_frame_shape(recognizer)
        values = self.session.values
        if len(frame_shape) > 1:
            values = values.reshape((len(values),) + frame_shape)
        self.times, self.values = self.session.times, values
        self.rate_hz = self.session.rate_hz or 1.0

    def frames(self) -> Iterator[SourceFrame]:
        for index, (time, values) in enumerate(zip(self.times, self.values)):
            yield SourceFrame(index, float(time), values=values)

    def close(self) -> None:
        pass


def model_frame_shape(recognizer: Any) -> tuple[int, ...]:
    """The raw frame the model takes: `(F,)` for sensors, `(J, C)` for keypoints; () if unknown."""
    return tuple(int(n) for n in (getattr(recognizer, "frame_shape", ()) or ()))


class CsvSource(SessionSource):
    """A recorded session CSV read by `io.session` (the training long CSV's parser): columns
    matched by name (by order for a model trained from arrays); for a keypoint model named
    `<joint>_<channel>` or `J * C` in its order, empty cells being undetected joints; one sequence
    picked by `sequence_id`."""

    def __init__(
        self, path: str | Path, recognizer: Any, sequence_id: str | None = None, resample: bool = False
    ) -> None:
        from actrec.data.keypoint_sources import read_model_session

        super().__init__(read_model_session(path, recognizer, sequence_id), recognizer, resample)


class RecordingSource(SessionSource):
    """A keypoint recording replayed: a recording `.npz` (as `actrec extract` / `actrec import`
    write them), or OpenPose, COCO or MediaPipe JSON imported on the fly
    (`data.keypoint_sources`), in the model's joints and channels."""

    def __init__(self, path: str | Path, recognizer: Any, resample: bool = False) -> None:
        from actrec.data.keypoint_sources import read_keypoint_source
        from actrec.io.session import Session

        recordings = read_keypoint_source(path, recognizer)
        if len(recordings) > 1:
            raise ConfigError(
                f"{path}: holds {len(recordings)} recordings ({', '.join(list(recordings)[:3])}, ...); "
                "stream one session, or predict them all with actrec predict --recordings"
            )
        (recording,) = recordings.values()
        if recording.has_people_axis:
            raise ConfigError(
                f"{path}: holds {recording.keypoints.shape[1]} tracked people; stream one person's recording "
                "(or the video with --people)"
            )
        session = Session(
            times=recording.times - recording.times[0],
            values=recording.keypoints.reshape(recording.n_frames, -1),
            rate_hz=recording.fps,
            source=str(path),
        )
        super().__init__(session, recognizer, resample)


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


def is_recorded_session(spec: str) -> bool:
    """True for a source replayed from recorded values (csv:, a session .csv, a recording .npz,
    keypoint .json, a folder), False for video frames (a video file or a camera)."""
    return spec.startswith("csv:") or spec.lower().endswith((".csv", ".npz", ".json")) or Path(spec).is_dir()


def open_source(
    spec: str, recognizer: Any, sequence_id: str | None = None, resample: bool = False
) -> SessionSource | VideoSource:
    """`csv:FILE` (or a `.csv`), a recording `.npz`, keypoint JSON (an OpenPose folder, a COCO or
    MediaPipe file), `webcam:N` or a video file path; `sequence_id` applies to CSV only, `resample`
    to recorded sessions."""
    if spec.startswith("csv:") or spec.lower().endswith(".csv"):
        return CsvSource(spec.removeprefix("csv:"), recognizer, sequence_id, resample)
    if sequence_id is not None:
        raise ConfigError("--id picks a sequence of a csv: source; give the session as csv:FILE")
    if is_recorded_session(spec):
        return RecordingSource(spec, recognizer, resample)
    if resample:
        raise ConfigError("--resample goes with a recorded session (csv:, .npz); a video plays at its own frame rate")
    return VideoSource(spec)


def extractor_for(recognizer: Any) -> Callable[[np.ndarray], Any]:
    """BGR image -> keypoints `[J, C]` in pixels (None when nobody is detected) in the skeleton the
    model was trained on: the smallest MediaPipe detector whose joints include the model's joints
    by name (so a COCO-17 model runs on MediaPipe pose), keeping the model's C channels
    (`PeopleExtractor` for every person in the image)."""
    from actrec.extract.detectors import MediaPipeDetector
    from actrec.io.video import import_cv2

    detector, index, channels = _model_joints(recognizer)
    cv2 = import_cv2()
    mediapipe = MediaPipeDetector(detector)

    def extract(image: np.ndarray) -> np.ndarray | None:
        found = mediapipe.detect(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
        if found is None:
            return None
        height, width = image.shape[:2]
        pixels = found * np.array([width, height, width, 1.0], dtype=np.float32)
        return pixels[index, :channels]

    return extract


def _model_joints(recognizer: Any) -> tuple[str, Any, int]:
    """(MediaPipe detector, index of the model's joints in its output, the model's channels)."""
    from actrec.data.keypoint_sources import detector_for

    model_schema = recognizer.skeleton()
    if model_schema is None:
        raise ConfigError("streaming video needs a model trained on keypoints; this one was trained on other data")
    detector, index = detector_for(model_schema)
    return detector, index, int(recognizer.frame_shape[-1])


class PeopleExtractor:
    """BGR image -> `{track_id: [J, C]}`: every person found, posed and tracked
    (`extract.people.PeoplePoser`), in the model's joints and channels, for
    `stream.people.PeopleStreamer`. `stage_times()` gives the poser's time per stage; `close()`
    stops its finder thread."""

    def __init__(self, recognizer: Any, config: PeopleConfig | None = None) -> None:
        from actrec.extract.people import PeoplePoser

        detector, self.index, self.channels = _model_joints(recognizer)
        if detector != "pose":
            raise ConfigError(
                f"--people poses each person with MediaPipe pose, which lacks joints of '{recognizer.skeleton().name}'"
            )
        self.poser = PeoplePoser(config)

    def __call__(self, image: np.ndarray) -> dict[int, np.ndarray]:
        return {track: found[self.index, : self.channels] for track, found in self.poser(image).items()}

    def stage_times(self) -> dict[str, StageTime]:
        """detect (the person finder, in a thread of its own beside pose), pose, wait (for the
        finder once the poses are done; no CPU), track: wall and CPU seconds of each, summed."""
        from actrec.extract.people import STAGES

        return {name: StageTime(self.poser.seconds[name], self.poser.cpu_seconds.get(name, 0.0)) for name in STAGES}

    def close(self) -> None:
        self.poser.close()
