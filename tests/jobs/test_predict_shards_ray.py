"""`actrec predict --ray` over shards: a hundred data files, and an array folder cut into shards of
`SHARD_ROWS` samples, predicted by a kernel model (its feature transform runs in the tasks) on
a private Ray head (tests/helpers/ray_head.py) give byte for byte the CSVs of a local run."""

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from actrec.cli import app
from actrec.jobs import predict_files
from actrec.recognizers import Recognizer
from tests.helpers.ray_head import skip_without_ray
from tests.helpers.waves import make_waves

skip_without_ray()

N_FILES = 100


@pytest.fixture(scope="module")
def shards(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(a small MiniRocket's RUN folder, a folder of a hundred data files, an array folder of 600
    unlabelled samples with one sample's values scaled up so a shard boundary would show)."""
    folder = tmp_path_factory.mktemp("predict_shards")
    Recognizer("minirocket", model_options={"num_features": 420}, seed=0).fit(make_waves(n=90)).save(folder / "run")
    for index in range(N_FILES):
        make_waves(n=3, seed=100 + index).to_npz(str(folder / "parts" / f"part{index:03d}.npz"))
    big = make_waves(n=600, seed=7, ragged=True)
    big.X[300] *= 5.0
    big.y = None
    big.to_folder(str(folder / "big"))
    return folder / "run", folder / "parts", folder / "big"


def test_a_hundred_files_and_a_sharded_folder_on_ray_give_the_local_csvs(shards, tmp_path, ray_head, monkeypatch):
    run, parts, big = shards
    monkeypatch.setattr(predict_files, "SHARD_ROWS", 256)  # the folder: shards of 256, 256 and 88 samples
    runner = CliRunner()
    command = ["predict", str(run), "--data", str(parts / "*.npz"), "--data", str(big)]
    local = runner.invoke(app, [*command, "--out", str(tmp_path / "local")])
    remote = runner.invoke(app, [*command, "--out", str(tmp_path / "remote"), "--ray", ray_head])
    assert local.exit_code == remote.exit_code == 0, remote.output
    assert f"{N_FILES + 1} of {N_FILES + 1} files" in remote.output
    written = sorted(path.name for path in (tmp_path / "remote").iterdir())
    assert written == sorted(path.name for path in (tmp_path / "local").iterdir())
    assert len(written) == N_FILES + 1 and "big.csv" in written
    for name in written:
        assert (tmp_path / "remote" / name).read_bytes() == (tmp_path / "local" / name).read_bytes(), name
    rows = (tmp_path / "remote" / "big.csv").read_text().splitlines()
    assert len(rows) == 601 and rows[1].startswith("s0,") and rows[-1].startswith("s599,")


def test_a_shard_that_cannot_be_predicted_fails_its_folder_in_one_line(shards, tmp_path, ray_head, monkeypatch):
    run, _, _ = shards
    monkeypatch.setattr(predict_files, "SHARD_ROWS", 256)
    bad = make_waves(n=600, seed=8)
    bad.X[400, 3, 1] = np.inf
    bad.to_folder(str(tmp_path / "bad"))
    result = CliRunner().invoke(
        app, ["predict", str(run), "--data", str(tmp_path / "bad"), "--out", str(tmp_path / "out"), "--ray", ray_head]
    )
    assert result.exit_code == 2, result.output
    failures = [line for line in result.output.splitlines() if line.startswith("fail")]
    assert len(failures) == 1 and "rows-256-512.npz" in failures[0] and "s400" in failures[0], result.output
    assert "Traceback" not in result.output and not (tmp_path / "out" / "bad.csv").exists()
