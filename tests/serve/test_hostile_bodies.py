"""Hostile `POST /v1/predict` bodies get a one-line 422 and the server keeps serving: an `.npz`
whose header declares 36 TiB, a compression bomb, arrays over the server's `max_array_*` limits;
`actrec predict` on the same files is one line and exit 2."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from actrec.cli import app as cli
from actrec.recognizers import Recognizer
from tests.helpers.bombs import TIB_36, npy_header, npz_of, zero_bomb

fastapi_testclient = pytest.importorskip("fastapi.testclient")
from actrec.serve import ServeSettings, create_app  # noqa: E402

NPZ = {"content-type": "application/octet-stream"}


@pytest.fixture(scope="module")
def recognizer(gru_run):
    return Recognizer.load(gru_run)


@pytest.fixture(scope="module")
def hostile_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    forged = npz_of(folder / "forged.npz", {"X.npy": npy_header(TIB_36)})
    bomb = zero_bomb(folder / "bomb.npz", 16 << 20)
    return {"forged": forged, "bomb": bomb}


def test_npz_bodies_declaring_too_much_get_one_line_422(recognizer, hostile_files, tmp_path):
    X = np.random.default_rng(0).standard_normal((4, 40, 4)).astype(np.float32)
    np.savez(tmp_path / "plain.npz", X=X)
    with fastapi_testclient.TestClient(create_app({"gru": recognizer})) as client:
        forged = client.post("/v1/predict/gru", content=hostile_files["forged"].read_bytes(), headers=NPZ)
        bomb = client.post("/v1/predict/gru", content=hostile_files["bomb"].read_bytes(), headers=NPZ)
        healthy = client.get("/healthz")
        plain = client.post("/v1/predict/gru", content=(tmp_path / "plain.npz").read_bytes(), headers=NPZ)
    small = ServeSettings(max_array_bytes=X.nbytes - 1)
    with fastapi_testclient.TestClient(create_app({"gru": recognizer}, small)) as client:
        over = client.post("/v1/predict/gru", content=(tmp_path / "plain.npz").read_bytes(), headers=NPZ)
    details = [response.json()["detail"] for response in (forged, bomb, over)]
    assert [response.status_code for response in (forged, bomb, over)] == [422, 422, 422]
    assert all(detail.startswith("request body (.npz") and "\n" not in detail for detail in details)
    assert "36.0 TiB" in details[0] and "-fold" in details[1]
    assert details[2].endswith("send fewer or shorter sequences per request")
    assert healthy.status_code == 200 and plain.status_code == 200


@pytest.mark.parametrize("name", ["forged", "bomb"])
def test_actrec_predict_refuses_them_in_one_line(gru_run, hostile_files, name, tmp_path):
    result = CliRunner().invoke(
        cli, ["predict", str(gru_run), "--data", str(hostile_files[name]), "--out", str(tmp_path / "out.csv")]
    )
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and hostile_files[name].name in errors[0] and "Traceback" not in result.output
    assert not (tmp_path / "out.csv").exists()
