"""The per-frame path's shortcuts keep the strict checks: a text message read first as a frame
gives what the full client-message union gives (the same model, or the same refusal), a JSON
frame's values become the float32 frame the careful path made (null -> NaN, a value past float32's
range refused), and a started app has its loaded heap out of the garbage collector's sight."""

from __future__ import annotations

import gc
import json

import numpy as np
import pytest
from pydantic import ValidationError

from actrec.errors import DataError
from actrec.recognizers import Recognizer
from actrec.serve.protocol import CLIENT_MESSAGE, error_kind, error_text, parse_client_message
from actrec.serve.sessions import FLOAT32_MAX, frame_from_json

fastapi_testclient = pytest.importorskip("fastapi.testclient")

from actrec.serve import create_app  # noqa: E402

MESSAGES = [
    '{"t": 0.5, "x": [1.5, -2, 3e5, null]}',
    '{"x": [[1, 2], [3, null]]}',
    '{"type": "frame", "t": null, "x": null}',
    '{"t": 2, "x": [1]}',
    '{"type": "open", "rules": {"enter": 0.6}, "probabilities": true}',
    '{"type": "open", "rules": {"enter": "x"}}',
    '{"type": "end"}',
    '{"type": "end", "x": 1}',
    '{"t": NaN, "x": [1]}',
    '{"x": [1e400]}',
    '{"x": ["1", true]}',
    '{"x": [1], "extra": 1}',
    '{"type": 5, "x": [1]}',
    '{"x": [[1, [2]]]}',
    "[" * 10_000 + "]" * 10_000,
    "not json",
    "[1, 2]",
    "",
]


@pytest.mark.parametrize("text", MESSAGES)
def test_a_message_parses_as_the_full_union_parses_it(text):
    try:
        expected = CLIENT_MESSAGE.validate_json(text)
    except ValidationError as error:
        with pytest.raises(ValidationError) as refused:
            parse_client_message(text)
        assert error_kind(refused.value) == error_kind(error)
        assert error_text(refused.value, skip=1) == error_text(error, skip=1)
    else:
        got = parse_client_message(text)
        assert type(got) is type(expected) and got == expected


def frame(text, shape=(4,)):
    return frame_from_json(parse_client_message(text), shape, seq=7)


def test_json_values_become_the_float32_frame_with_nulls_as_nan():
    values = [0.1, -2.5, 1e-30, FLOAT32_MAX]
    got = frame(json.dumps({"x": values}))
    assert got.dtype == np.float32 and got.shape == (4,)
    np.testing.assert_array_equal(got, np.asarray(values, np.float32))
    with_null = frame('{"x": [[1, null], [3, 4]]}', shape=(2, 2))
    assert np.isnan(with_null[0, 1]) and with_null[1, 1] == 4
    assert frame('{"x": [1, 2, 3, 4]}', shape=(2, 2)).shape == (2, 2)  # a flat list of the same size
    assert frame('{"x": null}') is None


@pytest.mark.parametrize("values", [[1e39, 0, 0, 0], [-1e300, 0, 0, 0], [None, 1e39, 0, 0]])
def test_a_value_past_float32_is_refused_with_or_without_nulls(values):
    with pytest.raises(DataError, match="frame 7: 'x' holds an infinite value or one beyond float32's range"):
        frame(json.dumps({"x": values}))


def test_a_frame_of_another_size_or_ragged_is_refused():
    with pytest.raises(DataError, match="frame 7: 'x' has shape \\[3\\]"):
        frame('{"x": [1, 2, 3]}')
    with pytest.raises(DataError, match="frame 7: 'x' is ragged"):
        frame('{"x": [[1, 2], [3]]}', shape=(2, 2))


def test_a_started_app_has_built_its_streams_and_frozen_the_heap_it_loaded(gru_run):
    """A full collection over the loaded models and libraries stopped the event loop for 0.3-0.6 s
    in the soak; after startup they, and what a model's first session builds, sit in the permanent
    generation, which collections skip."""
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    app = create_app({"gru": Recognizer.load(gru_run)})
    assert gc.get_freeze_count() == 0 and not app.state.streamers.prototypes  # built, not started
    try:
        with fastapi_testclient.TestClient(app) as client:
            assert gc.get_freeze_count() > 10_000
            assert list(app.state.streamers.prototypes) == ["gru"]
            assert app.state.streamers.prototypes["gru"].frame_index == 0  # the warm-up pushed a fork
            assert client.get("/healthz").json()["status"] == "ok"
    finally:
        gc.unfreeze()


def test_a_model_the_warm_up_cannot_push_still_lets_the_server_start(gru_run, monkeypatch, caplog):
    from actrec.stream.engine import Streamer

    def refuse(self, frame, time=None):
        raise DataError("frame 0: refused")

    monkeypatch.setattr(Streamer, "push", refuse)
    app = create_app({"gru": Recognizer.load(gru_run)})
    try:
        with caplog.at_level("WARNING", logger="actrec.serve"), fastapi_testclient.TestClient(app) as client:
            assert client.get("/healthz").json()["status"] == "ok"
        assert "model 'gru' was not warmed up: frame 0: refused" in caplog.text
    finally:
        gc.unfreeze()
