"""`actrec predict --ray`: data files spread over a private Ray head (tests/helpers/ray_head.py) give the
CSVs a local run writes, a corrupt file is one line while the others finish, and a second run
skips what is done."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from actrec.cli import app
from actrec.recognizers import Recognizer
from tests.helpers.ray_head import skip_without_ray
from tests.helpers.waves import make_waves

skip_without_ray()


@pytest.fixture(scope="module")
def parts(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(a small GRU's RUN folder, a folder of five data files and a corrupt one: more files than
    the four tasks `run_on_ray` keeps in flight on the head's two CPUs)."""
    folder = tmp_path_factory.mktemp("predict_ray")
    Recognizer(model="gru", model_options={"hidden_sizes": [8], "dense": []}, epochs=2, seed=0).fit(
        make_waves(n=60)
    ).save(folder / "run")
    for index in range(5):
        make_waves(n=12, seed=10 + index).to_npz(str(folder / "parts" / f"part{index}.npz"))
    (folder / "parts" / "broken.npz").write_bytes(b"not an npz")
    return folder / "run", folder / "parts"


def test_prediction_over_ray_writes_the_files_a_local_run_writes(parts, tmp_path, ray_head):
    run, data = parts
    runner = CliRunner()
    command = ["predict", str(run), "--data", str(data / "*.npz")]
    local = runner.invoke(app, [*command, "--out", str(tmp_path / "local")])
    remote = runner.invoke(app, [*command, "--out", str(tmp_path / "remote"), "--ray", ray_head])
    assert local.exit_code == remote.exit_code == 2, remote.output
    failures = [line for line in remote.output.splitlines() if "broken.npz" in line]
    assert len(failures) == 1 and failures[0].startswith("fail") and "not a readable .npz" in failures[0]
    assert "5 of 6 files" in remote.output and "Traceback" not in remote.output
    for index in range(5):
        name = f"part{index}.csv"
        assert (tmp_path / "remote" / name).read_bytes() == (tmp_path / "local" / name).read_bytes(), name
    assert sorted(path.name for path in (tmp_path / "remote").iterdir()) == [f"part{index}.csv" for index in range(5)]
    # resumable like a local run: finished files are skipped, the corrupt one is tried again
    again = runner.invoke(app, [*command, "--out", str(tmp_path / "remote"), "--ray", ray_head])
    assert again.exit_code == 2 and again.output.count("skip ") == 5 and "5 of 6 files" in again.output
