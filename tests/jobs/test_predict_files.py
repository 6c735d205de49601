"""`actrec predict` over several data files on this machine: one CSV per file in the --out folder,
equal to predicting each file alone; clashing names and a CSV --out for many files are refused."""

import pytest
from typer.testing import CliRunner

from actrec.cli import app
from actrec.errors import ConfigError, DataError
from actrec.jobs.predict_files import plan_predictions
from actrec.recognizers import Recognizer
from tests.helpers.waves import make_waves

runner = CliRunner()


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory):
    run = tmp_path_factory.mktemp("predict_files") / "run"
    Recognizer(model="gru", model_options={"hidden_sizes": [8], "dense": []}, epochs=2, seed=0).fit(
        make_waves(n=60)
    ).save(run)
    return run


def test_each_file_gets_the_csv_predicting_it_alone_gives(trained, tmp_path):
    for index in range(2):
        make_waves(n=8, seed=index).to_npz(str(tmp_path / f"part{index}.npz"))
    together = runner.invoke(
        app, ["predict", str(trained), "--data", str(tmp_path / "part*.npz"), "--out", str(tmp_path / "out")]
    )
    alone = runner.invoke(
        app, ["predict", str(trained), "--data", str(tmp_path / "part1.npz"), "--out", str(tmp_path / "alone.csv")]
    )
    assert together.exit_code == alone.exit_code == 0, together.output
    assert (tmp_path / "out" / "part1.csv").read_bytes() == (tmp_path / "alone.csv").read_bytes()
    assert (tmp_path / "out" / "part0.csv").is_file()


def test_outputs_that_would_clash_are_refused_before_any_work(tmp_path):
    with pytest.raises(DataError, match="would both write"):
        plan_predictions([str(tmp_path / "a" / "x.npz"), str(tmp_path / "b" / "x.csv")], tmp_path / "out")
    with pytest.raises(ConfigError, match="give a folder to --out"):
        plan_predictions(["a.npz", "b.npz"], tmp_path / "all.csv")
    with pytest.raises(DataError, match="no file matches"):
        plan_predictions([str(tmp_path / "*.npz")], tmp_path / "out")
