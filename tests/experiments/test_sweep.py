import getpass
import glob
import json
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from actrec.errors import ConfigError
from actrec.evaluation.html import render_html
from actrec.experiments.sweep import load_space, parse_space, sweep
from actrec.runs.config_file import load_config_file
from tests.helpers.generated import make_dataset

torch.set_num_threads(1)

# sweep() runs an Optuna study, an optional extra
needs_optuna = pytest.mark.usefixtures("optuna")


@pytest.fixture
def optuna():
    return pytest.importorskip("optuna", reason="optuna is not installed: pip install 'actrec[search]'")


@needs_optuna
def test_front_holds_a_model_twice_as_fast_as_the_largest_and_as_accurate(tmp_path):
    data = make_dataset(n_per_class=40, n_classes=3, steps=24, noise=0.2, seed=0)
    space = parse_space(
        {
            "base": {"model": "inception", "epochs": 10, "lr": 0.01, "batch_size": 32},
            "params": {"model_options.depth": {"int": [1, 6]}, "model_options.filters": {"choice": [4, 8, 16, 32]}},
            "enqueue": [{"model_options.depth": 6, "model_options.filters": 32}],  # the default, largest InceptionTime
        }
    )
    result = sweep(data, space, tmp_path, trials=6, seed=0)
    done = result.trials[result.trials["state"] == "COMPLETE"]
    largest = done.loc[done["param_count"].idxmax()]
    assert json.loads(largest["params"]) == {"model_options.depth": 6, "model_options.filters": 32}
    good = result.front[
        (result.front["latency_us"] * 2 <= largest["latency_us"]) & (result.front["top1"] >= largest["top1"] - 0.01)
    ]
    assert len(good) >= 1, result.trials.to_string()

    # the chosen configuration is what `actrec train --config` reads
    config = load_config_file(tmp_path / "best_config.yaml")
    assert config == result.best_config and config["model"] == "inception"
    for name in ("study.db", "trials.csv", "pareto.csv", "pareto.md", "pareto.png", "sweep.json"):
        assert (tmp_path / name).is_file(), name

    page = render_html(tmp_path)
    assert "Pareto front" in page and "Configuration (best_config.yaml)" in page


@needs_optuna
def test_space_file_with_choices_floats_window_length(tmp_path):
    path = tmp_path / "space.yaml"
    path.write_text(
        "base: {model: gru, epochs: 2, batch_size: 32, model_options: {dense: []}}\n"
        "params:\n"
        "  model_options.hidden_sizes: {choice: [[8], [8, 8]]}\n"
        "  model_options.dropout: {float: [0.0, 0.5]}\n"
        "  lr: {float: [0.001, 0.01], log: true}\n"
        "  window_length: {int: [12, 20], step: 4}\n"
    )
    data = make_dataset(n_per_class=15, n_classes=3, steps=20, seed=1)
    result = sweep(data, load_space(path), tmp_path, trials=2, seed=0, objective="accuracy", folds=2)
    assert len(result.front) == 1
    chosen = json.loads(result.front.iloc[0]["params"])
    assert chosen["window_length"] in (12, 16, 20)
    assert chosen["model_options.hidden_sizes"] in ([8], [8, 8])
    # the searched window is a real training option of best_config.yaml, not a comment
    assert result.best_config["last_steps"] == chosen["window_length"]
    again = sweep(data, load_space(path), tmp_path, trials=1, seed=1, objective="accuracy", folds=2)
    assert len(again.study.trials) == 3  # the stored study is joined, not started again


def test_keep_last_keeps_the_end_of_each_sample():
    data = make_dataset(n_per_class=5, n_classes=2, steps=10, seed=2)
    cut = data.keep_last(4)
    assert cut.X.shape[1] == 4 and (cut.lengths == 4).all()
    end = int(data.lengths[0])
    np.testing.assert_array_equal(cut.X[0], data.X[0, end - 4 : end])


@pytest.mark.parametrize(
    "raw, message",
    [
        ({"params": {}}, "at least one"),
        ({"params": {"lr": {"float": [1, 0]}}}, "low <= high"),
        ({"params": {"lr": {"uniform": [0, 1]}}}, "exactly one of"),
        ({"params": {"lr": {"float": [0, 1]}}, "enqueue": [{"epochs": 3}]}, "not in params"),
        ({"params": {"lr": {"float": [0, 1]}}, "extra": 1}, "unknown key"),
    ],
)
def test_bad_space_is_one_line_config_error(raw, message):
    with pytest.raises(ConfigError, match=message):
        parse_space(raw)


# ---------------------------------------------------------------- PostgreSQL: several workers, one study


def postgres_bin(name):
    found = shutil.which(name) or sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found if isinstance(found, str) else (found[-1] if found else None)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def postgres_url():
    """A throwaway PostgreSQL server on a free loopback port, stopped at the end."""
    pytest.importorskip("psycopg2", reason="pip install psycopg2-binary for the PostgreSQL storage test")
    initdb, pg_ctl = postgres_bin("initdb"), postgres_bin("pg_ctl")
    if not initdb or not pg_ctl:
        pytest.skip("PostgreSQL server binaries not found (apt-get install -y postgresql)")
    as_user: list[str] = []
    if os.geteuid() == 0:  # the server refuses to run as root
        if not shutil.which("runuser") or subprocess.run(["id", "postgres"], capture_output=True).returncode:
            pytest.skip("running as root without a 'postgres' user to start the server as")
        as_user = ["runuser", "-u", "postgres", "--"]
    root = Path(tempfile.mkdtemp(prefix="actrec-pg-"))  # pytest's tmp dirs are private to root
    if as_user:
        shutil.chown(root, "postgres")
    data_dir, port = root / "data", free_port()
    run = lambda *args: subprocess.run([*as_user, *args], check=True, capture_output=True, text=True)
    user = "postgres" if as_user else getpass.getuser()
    run(initdb, "-D", str(data_dir), "-U", user, "--auth=trust", "--no-sync")
    run(
        pg_ctl,
        "-D",
        str(data_dir),
        "-l",
        str(root / "log"),
        "-w",
        "-o",
        f"-p {port} -k {root} -c listen_addresses=127.0.0.1",
        "start",
    )
    try:
        import psycopg2

        connection = psycopg2.connect(host="127.0.0.1", port=port, user=user, dbname="postgres")
        connection.autocommit = True
        connection.cursor().execute("CREATE DATABASE sweep")
        connection.close()
        yield f"postgresql+psycopg2://{user}@127.0.0.1:{port}/sweep"
    finally:
        run(pg_ctl, "-D", str(data_dir), "-m", "fast", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)


@needs_optuna
def test_two_workers_share_one_study_on_postgresql(postgres_url, tmp_path):
    """Two workers (the CLI and the API, as two machines would) add trials to one stored study."""
    from typer.testing import CliRunner

    from actrec.cli import app

    data = make_dataset(n_per_class=10, n_classes=2, steps=12, seed=3)
    data.to_npz(str(tmp_path / "data.npz"))
    raw = {
        "base": {"model": "gru", "epochs": 1, "model_options": {"dense": []}},
        "params": {"model_options.hidden_sizes": {"layers": [1, 1], "units": [4, 16]}},
    }
    (tmp_path / "space.yaml").write_text(yaml.safe_dump(raw))
    args = [
        "sweep",
        "--data",
        str(tmp_path / "data.npz"),
        "--space",
        str(tmp_path / "space.yaml"),
        "--trials",
        "2",
        "--storage",
        postgres_url,
        "--study",
        "shared",
        "--out",
        str(tmp_path / "worker0"),
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    second = sweep(data, parse_space(raw), tmp_path / "worker1", trials=2, storage=postgres_url, study_name="shared")
    assert len(second.study.trials) == 4
    assert second.trials["state"].eq("COMPLETE").all()
    assert not (tmp_path / "worker0" / "study.db").exists()  # nothing went to the default SQLite file
    assert (tmp_path / "worker1" / "best_config.yaml").is_file()


class GuessingNet(torch.nn.Module):
    def forward(self, x, lengths=None):
        return torch.zeros(x.shape[0], 2)


class Guesser:
    """A stand-in fit result: right on a share `skill` of samples, so trials differ without training."""

    def __init__(self, skill, seed):
        self.skill, self.seed = skill, seed
        self.network, self.window_length, self.n_features = GuessingNet(), 12, 4

    def predict_proba(self, data):
        rng = np.random.default_rng(self.seed + data.n_samples)
        right = rng.random(data.n_samples) < self.skill
        guess = np.where(right, data.y, 1 - data.y)
        return np.eye(2)[guess] * 0.9 + 0.05


@needs_optuna
def test_single_objective_prunes_weak_trials_over_folds(tmp_path):
    data = make_dataset(n_per_class=20, n_classes=2, steps=12, seed=4)
    space = parse_space({"base": {"model": "gru"}, "params": {"lr": {"float": [0.0, 1.0]}}})
    result = sweep(
        data,
        space,
        tmp_path,
        trials=14,
        seed=0,
        objective="accuracy",
        folds=4,
        fit=lambda config, train, seed, validation: Guesser(config["lr"], seed),
    )
    states = set(result.trials["state"])
    assert "PRUNED" in states and "COMPLETE" in states
    assert json.loads((tmp_path / "sweep.json").read_text())["pruned"] >= 1


@needs_optuna
def test_train_with_best_config_reproduces_a_trial_whose_window_length_was_searched(tmp_path):
    from typer.testing import CliRunner

    from actrec.cli import app

    data = make_dataset(n_per_class=12, n_classes=3, steps=24, seed=3)
    space = parse_space(
        {
            "base": {"model": "minirocket", "model_options": {"num_features": 168, "max_dilations": 4}},
            "params": {"window_length": {"int": [8, 16], "step": 8}},
        }
    )
    result = sweep(data, space, tmp_path / "sweep", trials=2, seed=0, objective="accuracy")
    trial = result.front.iloc[0]
    window = json.loads(trial["params"])["window_length"]
    assert result.best_config["last_steps"] == window
    data.to_npz(str(tmp_path / "data.npz"))
    run = tmp_path / "run"
    outcome = CliRunner().invoke(
        app,
        [
            "train",
            "--data",
            str(tmp_path / "data.npz"),
            "--config",
            str(tmp_path / "sweep" / "best_config.yaml"),
            "--out",
            str(run),
            "--no-progress",
        ],
    )
    assert outcome.exit_code == 0, outcome.output
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["test"]["top1"] == pytest.approx(trial["top1"], abs=1e-9)
    assert json.loads((run / "config.json").read_text())["last_steps"] == window
