"""A clip model is served as a sequence model is: `actrec serve pets=RUN` loads it (the kind is read
from the model file), `/v1/models` lists it, POST /v1/predict takes one video file and answers what
`predict_proba` gives on that file; its WebSocket stream is refused in one line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("cv2", reason="clip models decode video with OpenCV")
fastapi_testclient = pytest.importorskip("fastapi.testclient")

from actrec.data.clips import load_clips  # noqa: E402
from actrec.recognizers.clip import VideoRecognizer  # noqa: E402
from actrec.serve import ServeSettings, create_app  # noqa: E402
from actrec.serve.app import load_models  # noqa: E402
from tests.helpers.clip_models import LABELS, save_tiny_clip_model, write_session_video  # noqa: E402


@pytest.fixture(scope="module")
def clip_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_clip_model(tmp_path_factory.mktemp("clips_model") / "clips_model")


def test_serve_loads_a_clip_model_by_name(clip_run: Path) -> None:
    models = load_models([f"pets={clip_run}"])
    assert isinstance(models["pets"], VideoRecognizer) and models["pets"].label_names == LABELS


def test_a_posted_video_gets_the_probabilities_of_predict_proba(clip_run: Path, tmp_path: Path) -> None:
    models = load_models([f"pets={clip_run}"])
    video = write_session_video(tmp_path / "walk.mp4")
    client = fastapi_testclient.TestClient(create_app(models, ServeSettings()))
    info = client.get("/v1/models").json()
    assert [(model["name"], model["kind"], model["label_names"]) for model in info] == [("pets", "video", LABELS)]
    response = client.post("/v1/predict/pets", content=video.read_bytes(), headers={"content-type": "video/mp4"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["columns"] == ["id", "pred", "confidence", *LABELS] and len(body["rows"]) == 1
    expected = VideoRecognizer.load(clip_run).predict_proba(load_clips(video))[0]
    assert np.allclose(body["rows"][0][3:], expected, atol=1e-5)
    assert not any(Path(models["pets"].frame_cache().folder).iterdir())  # the request's frames are not kept


def test_a_bad_video_body_is_one_line_naming_the_body(clip_run: Path) -> None:
    client = fastapi_testclient.TestClient(create_app(load_models([f"pets={clip_run}"]), ServeSettings()))
    response = client.post("/v1/predict/pets", content=b"\x00not a video" * 40, headers={"content-type": "video/mp4"})
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "request body" in detail and "\n" not in detail and "/tmp" not in detail


def test_streaming_to_a_clip_model_is_refused_with_what_to_do(clip_run: Path) -> None:
    client = fastapi_testclient.TestClient(create_app(load_models([f"pets={clip_run}"]), ServeSettings()))
    with client.websocket_connect("/v1/stream/pets") as ws:
        reply = json.loads(ws.receive_text())
    assert reply["code"] == "not_streamable" and "/v1/predict/pets" in reply["message"]
