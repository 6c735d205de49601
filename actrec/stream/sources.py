"""Where live frames come from: a video file or camera (through keypoint extraction), or a
recorded session replayed at its sample rate: a sensor or keypoint CSV (`io.session`), a keypoint
recording `.npz`, or a folder of OpenPose JSON.

`open_source(spec, recognizer)` reads `FILE`, `webcam:N`, `csv:FILE`, `REC.npz` or `JSON_DIR`. A source yields
`SourceFrame`s; `extractor_for(recognizer)` turns a video image into the raw frame the model
takes (MediaPipe keypoints in pixels, as `actrec extract` writes them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from actrec.errors import ConfigError, DataError


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
        from actrec.io.session import read_session

        frame_shape = model_frame_shape(recognizer)
        keypoints = len(frame_shape) > 1
        n_features = int(np.prod(frame_shape)) if frame_shape else None
        skeleton = recognizer.skeleton() if keypoints else None
        joints = (
            (skeleton.joints, frame_shape[-1])
            if skeleton is not None and len(skeleton.joints) == frame_shape[0]
            else None
        )
        session = read_session(
            path, recognizer.feature_names, n_features, sequence_id, allow_missing=keypoints, joints=joints
        )
        super().__init__(session, recognizer, resample)


class RecordingSource(SessionSource):
    """A keypoint recording replayed: a recording `.npz` (as `actrec extract` / `actrec import`
    write them), or a folder of OpenPose JSON imported on the fly. Joints are mapped onto the
    model's skeleton by name and its C channels kept."""

    def __init__(self, path: str | Path, recognizer: Any, resample: bool = False) -> None:
        from actrec.io.session import Session

        recording = _read_recording(Path(path), recognizer)
        if recording.has_people_axis:
            raise ConfigError(
                f"{path}: holds {len(recording.track_id)} tracked people; stream one person's recording "
                "(or the video with --people)"
            )
        keypoints = _model_joints(recording, recognizer)
        session = Session(
            times=recording.times - recording.times[0],
            values=keypoints.reshape(len(keypoints), -1),
            rate_hz=recording.fps,
            source=str(path),
        )
        super().__init__(session, recognizer, resample)


def _read_recording(path: Path, recognizer: Any) -> Any:
    """A recording `.npz`, or an OpenPose `--write_json` folder read in the model's skeleton."""
    from actrec.io.keypoints import read_openpose_json
    from actrec.io.recording import load_recording

    if path.is_dir():
        skeleton = recognizer.skeleton()
        if skeleton is None:
            raise ConfigError(
                f"{path}: a folder of keypoint JSON streams into a keypoint model; this one was trained on other data"
            )
        if not any(path.glob("*.json")):
            raise DataError(
                f"{path}: holds no .json files; give an OpenPose --write_json folder, a recording .npz or a video"
            )
        openpose = skeleton if len(skeleton.joints) in (25, 137) else _openpose_schema()
        return read_openpose_json(path, openpose, fps=float(recognizer.sample_rate_hz or 30.0), schema=openpose.name)
    return load_recording(path)


def _openpose_schema() -> Any:
    from actrec.skeletons import get_schema

    return get_schema("openpose_137")


def _model_joints(recording: Any, recognizer: Any) -> np.ndarray:
    """`[T, J, C]` keypoints in the model's joints (by name when the skeletons differ) and channels."""
    from actrec.skeletons import get_schema
    from actrec.skeletons.mapping import joint_index

    model_schema = recognizer.skeleton()
    frame_shape = model_frame_shape(recognizer)
    if model_schema is None or len(frame_shape) != 2:
        raise ConfigError(
            f"{recording.source}: a keypoint recording streams into a keypoint model; this one takes frames of shape {frame_shape}"
        )
    keypoints = recording.keypoints
    if recording.schema != model_schema.name or keypoints.shape[1] != frame_shape[0]:
        index = joint_index(get_schema(recording.schema), model_schema)
        if index is None:
            raise DataError(
                f"{recording.source}: skeleton '{recording.schema}' lacks joints of the model's '{model_schema.name}'; "
                "stream a recording of the model's skeleton"
            )
        keypoints = keypoints[:, index]
    if keypoints.shape[2] < frame_shape[1]:
        raise DataError(
            f"{recording.source}: {keypoints.shape[2]} channels per joint but the model takes {frame_shape[1]}"
        )
    return keypoints[:, :, : frame_shape[1]]


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
    """True for a source replayed from recorded values (csv:, a recording .npz, a JSON folder),
    False for video frames (a video file or a camera)."""
    return spec.startswith("csv:") or spec.lower().endswith(".npz") or Path(spec).is_dir()


def open_source(
    spec: str, recognizer: Any, sequence_id: str | None = None, resample: bool = False
) -> SessionSource | VideoSource:
    """`csv:FILE`, a recording `.npz`, a folder of OpenPose JSON, `webcam:N` or a video file path;
    `sequence_id` applies to csv: only, `resample` to recorded sessions."""
    if spec.startswith("csv:"):
        return CsvSource(spec[4:], recognizer, sequence_id, resample)
    if sequence_id is not None:
        raise ConfigError("--id picks a sequence of a csv: source; give the session as csv:FILE")
    if is_recorded_session(spec):
        return RecordingSource(spec, recognizer, resample)
    if resample:
        raise ConfigError("--resample goes with a recorded session (csv:, .npz); a video plays at its own frame rate")
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
        raise ConfigError(
            f"no MediaPipe detector gives every joint of the model's skeleton '{model_schema.name}'; "
            f"stream keypoints you extract yourself as csv: instead"
        )
    index, channels = chosen[1], int(recognizer.frame_shape[-1])
    if people:
        from actrec.extract.people import PeoplePoser

        if chosen[0] != "pose":
            raise ConfigError(
                f"--people poses each person with MediaPipe pose, which lacks joints of '{model_schema.name}'"
            )
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
