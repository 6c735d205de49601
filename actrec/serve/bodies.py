"""HTTP request bodies for `POST /v1/predict/{model}`: read under a size limit, then read as the
model's input medium says (`body_proba`): frames as a SequenceDataset from JSON (`PredictRequest`)
or from the `.npz` layout `actrec predict` reads; a video as one video file (`video_proba`)."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import HTTPException, Request
from pydantic import ValidationError

from actrec.errors import DataError
from actrec.io.array_limits import ArrayLimits
from actrec.serve.metrics import ServeMetrics
from actrec.serve.protocol import PredictRequest


async def read_body(request: Request, limit: int, timeout_s: float, metrics: ServeMetrics) -> bytes:
    """The request body, refused with 413 as soon as it passes `limit` bytes, and with 408 when it
    has not all arrived within `timeout_s` (a client trickling a body holds a socket and a task)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        metrics.errors.labels("too_big").inc()
        raise HTTPException(
            413, f"body of {declared} bytes is over the {limit}-byte limit; send fewer sequences per request"
        )
    body = bytearray()
    try:
        async with asyncio.timeout(timeout_s):
            async for chunk in request.stream():
                body += chunk
                if len(body) > limit:
                    metrics.errors.labels("too_big").inc()
                    raise HTTPException(413, f"body is over the {limit}-byte limit; send fewer sequences per request")
    except TimeoutError:
        metrics.errors.labels("too_slow").inc()
        raise HTTPException(408, f"the body did not arrive within {timeout_s:g} s; send it at once") from None
    return bytes(body)


def json_dataset(body: bytes, recognizer: Any) -> Any:
    """A `PredictRequest` -> SequenceDataset padded to the longest sequence."""
    from actrec.data.dataset import SequenceDataset

    try:
        request = PredictRequest.model_validate_json(body)
    except ValidationError as error:
        raise DataError(
            f"request body: {error.errors()[0]['msg']} at {error.errors()[0]['loc']}; send "
            '{"sequences": [[frame, ...], ...], "ids": [...]}'
        ) from None
    if not request.sequences:
        raise DataError("request body: 'sequences' is empty; send at least one sequence")
    frame_shape = tuple(recognizer.frame_shape)
    arrays = []
    for index, sequence in enumerate(request.sequences):
        try:
            values = np.asarray(sequence, dtype=np.float32)
        except ValueError:
            raise DataError(f"sequence {index}: ragged; every frame needs {list(frame_shape)} values") from None
        if values.ndim < 2 or len(values) == 0:
            raise DataError(f"sequence {index}: needs at least one frame of {list(frame_shape)} values")
        if values.shape[1:] != frame_shape and values[0].size == int(np.prod(frame_shape)):
            values = values.reshape((len(values),) + frame_shape)
        arrays.append(values)
    ids = request.ids if request.ids is not None else [str(index) for index in range(len(arrays))]
    if len(ids) != len(arrays):
        raise DataError(f"request body: {len(ids)} ids for {len(arrays)} sequences; give one id per sequence")
    shapes = {values.shape[1:] for values in arrays}
    if len(shapes) > 1:
        raise DataError(
            f"sequences have different frame shapes {sorted(map(list, shapes))}; the model takes {list(frame_shape)}"
        )
    lengths = np.array([len(values) for values in arrays], dtype=np.int64)
    X = np.zeros((len(arrays), int(lengths.max())) + arrays[0].shape[1:], np.float32)
    for index, values in enumerate(arrays):
        X[index, : len(values)] = values
    return SequenceDataset(X=X, lengths=lengths, ids=np.array(ids), schema=recognizer.schema, source="request body")


def npz_dataset(body: bytes, recognizer: Any, limits: ArrayLimits) -> Any:
    """An `.npz` body (the layout `actrec predict --data` reads) -> SequenceDataset; its declared
    sizes are checked against `limits` before anything is inflated."""
    from actrec.data.loading import load_dataset

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "request.npz"
        path.write_bytes(body)
        try:
            dataset = load_dataset(path, label_names=recognizer.label_names, limits=limits)
        except DataError as error:  # name the body, not the temporary file
            raise DataError(
                str(error).replace(str(path), "request body (.npz; send JSON as application/json)")
            ) from None
    dataset.source = "request body"
    return dataset


def video_proba(body: bytes, content_type: str, recognizer: Any) -> tuple[list[str], np.ndarray]:
    """One video file (the body) through a clip model -> (["request body"], probabilities `[1, C]`).

    The file lives in a temporary folder for the request only, and its decoded frames are dropped
    from the model's frame cache afterwards, so a long-running server does not fill its disk."""
    import mimetypes

    from actrec.data.clips import load_clips
    from actrec.io.video import VIDEO_SUFFIXES

    if not body:
        raise DataError("request body: empty; send one video file (e.g. Content-Type: video/mp4)")
    suffix = mimetypes.guess_extension(content_type.split(";")[0].strip()) or ".mp4"
    suffix = suffix if suffix in VIDEO_SUFFIXES else ".mp4"  # OpenCV reads the container, not the name
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"request{suffix}"
        path.write_bytes(body)
        clips = load_clips(path)
        cached = recognizer.frame_cache().path_for(path, clips.span(0))
        try:
            proba = recognizer.predict_proba(clips)
        except DataError as error:  # name the body, not the temporary file
            raise DataError(str(error).replace(str(path), "request body (one video file)")) from None
        finally:
            cached.unlink(missing_ok=True)
    return ["request body"], proba


def frames_proba(body: bytes, content_type: str, recognizer: Any, limits: ArrayLimits) -> tuple[Any, np.ndarray]:
    """(ids, probabilities) of sequences of frames sent as JSON (application/json) or as an `.npz`."""
    dataset = (
        json_dataset(body, recognizer)
        if content_type.startswith("application/json")
        else npz_dataset(body, recognizer, limits)
    )
    return dataset.ids, recognizer.predict_proba(dataset)


# how a body is read for each input medium a recognizer declares (`input_medium`)
BODY_READERS: dict[str, Callable[[bytes, str, Any, ArrayLimits], tuple[Any, np.ndarray]]] = {
    "frames": frames_proba,
    "video": lambda body, content_type, recognizer, _limits: video_proba(body, content_type, recognizer),
}


def body_proba(body: bytes, content_type: str, recognizer: Any, limits: ArrayLimits) -> tuple[Any, np.ndarray]:
    """(ids, probabilities `[N, C]`) of a request body, read as `recognizer`'s input medium is read."""
    return BODY_READERS[recognizer.input_medium](body, content_type, recognizer, limits)
