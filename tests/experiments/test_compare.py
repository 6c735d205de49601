import json

import pytest
import torch

from actrec.errors import ConfigError
from actrec.experiments.compare import ModelSpec, compare, fit_recognizer, load_specs, spec_from_option
from actrec.recognizers import Recognizer
from tests.helpers.generated import make_dataset

torch.set_num_threads(1)

TINY = {"model": "gru", "model_options": {"hidden_sizes": [8], "dense": []}, "epochs": 2, "batch_size": 32}


class CountingFit:
    """The real fit function, counting how often it trains."""

    def __init__(self):
        self.calls = 0

    def __call__(self, config, train, seed, validation):
        self.calls += 1
        return fit_recognizer(config, train, seed, validation)


@pytest.fixture(scope="module")
def data():
    return make_dataset(n_per_class=20, n_classes=3, steps=20, seed=0)


def test_same_seed_twice_gives_zero_std_and_different_seeds_do_not(data, tmp_path):
    specs = [ModelSpec("tiny", TINY)]
    same = compare(data, specs, tmp_path / "same", seeds=[0, 0], use_cache=False).summary.iloc[0]
    assert same["runs"] == 2
    for metric in ("top1", "top5", "macro_f1", "log_loss"):
        assert same[f"{metric}_std"] == 0.0
    varied = compare(data, specs, tmp_path / "varied", seeds=[0, 1, 2], use_cache=False).summary.iloc[0]
    assert varied["log_loss_std"] > 0.0


def test_rerun_reads_every_run_from_cache(data, tmp_path):
    specs = [ModelSpec("tiny", TINY), ModelSpec("wider", TINY | {"model_options": {"hidden_sizes": [16], "dense": []}})]
    first_fit, second_fit = CountingFit(), CountingFit()
    first = compare(data, specs, tmp_path, seeds=[0, 1], fit=first_fit)
    second = compare(data, specs, tmp_path, seeds=[0, 1], fit=second_fit)
    assert first_fit.calls == 4 and first.fits == 4
    assert second_fit.calls == 0 and second.fits == 0
    assert first.runs.equals(second.runs)
    changed = compare(data, [ModelSpec("tiny", TINY | {"epochs": 3})], tmp_path, seeds=[0], fit=second_fit)
    assert changed.fits == 1  # a changed configuration is trained again


def test_kfold_outputs_table_csv_markdown_and_plot(data, tmp_path):
    result = compare(data, [ModelSpec("tiny", TINY)], tmp_path, folds=3)
    assert list(result.runs["run"]) == ["fold0", "fold1", "fold2"]
    row = result.summary.iloc[0]
    assert row["param_count"] > 0 and row["latency_us_mean"] > 0 and row["train_time_s_mean"] > 0
    for name in ("runs.csv", "summary.csv", "summary.md", "compare.json", "accuracy_vs_latency.png"):
        assert (tmp_path / name).is_file(), name
    assert "±" in (tmp_path / "summary.md").read_text()
    assert json.loads((tmp_path / "compare.json").read_text())["split"]["mode"] == "kfold"


def test_model_flag_and_yaml_formats(tmp_path):
    spec = spec_from_option('gru:{"hidden_sizes": [64]}', {"epochs": 5})
    assert spec.options == {"epochs": 5, "model": "gru", "model_options": {"hidden_sizes": [64]}}
    path = tmp_path / "models.yaml"
    path.write_text("gru64:\n  model: gru\n  model_options: {hidden_sizes: [64]}\nlstm:\n  model: lstm\n")
    assert [s.name for s in load_specs(path)] == ["gru64", "lstm"]
    path.write_text("models:\n  - {name: a, model: gru}\n  - {model: lstm, epochs: 3}\n")
    assert [(s.name, s.options.get("epochs")) for s in load_specs(path, {"epochs": 9})] == [("a", 9), ("lstm", 3)]
    with pytest.raises(ConfigError, match="JSON"):
        spec_from_option("gru:{hidden}")


def test_a_compare_cuts_its_splits_once_and_passes_validation_down(data, tmp_path, monkeypatch):
    import actrec.data.splits as splits

    calls = []
    original = splits.holdout_split
    monkeypatch.setattr(splits, "holdout_split", lambda *a, **k: calls.append(a[1]) or original(*a, **k))
    seen = []

    def fit(config, train, seed, validation=None):
        seen.append((train.ids.tolist(), None if validation is None else validation.ids.tolist()))
        return Recognizer(**(config | {"seed": seed})).fit(train, validation=validation)

    kernel = {"model": "minirocket", "model_options": {"num_features": 84}}
    compare(
        data,
        [ModelSpec("a", kernel), ModelSpec("b", kernel | {"class_weight": None})],
        tmp_path,
        seeds=[0, 1],
        test_fraction=0.25,
        fit=fit,
        use_cache=False,
    )
    assert calls == [0.25, 0.2]  # test, then validation, once for all four runs: the recognizer does not cut again
    assert len(seen) == 4 and all(run == seen[0] for run in seen)
    assert set(seen[0][0]).isdisjoint(seen[0][1])


def test_unknown_option_fails_before_training(data, tmp_path):
    fit = CountingFit()
    with pytest.raises(ConfigError, match="bad"):
        compare(data, [ModelSpec("bad", {"model": "gru", "model_options": {"nope": 1}})], tmp_path, seeds=[0], fit=fit)
    assert fit.calls == 0


def test_cli_compare_writes_tables_and_reuses_cache(data, tmp_path):
    from typer.testing import CliRunner

    from actrec.cli import app

    data.to_npz(str(tmp_path / "data.npz"))
    args = [
        "compare",
        "--data",
        str(tmp_path / "data.npz"),
        "--model",
        'gru:{"hidden_sizes": [8], "dense": []}',
        "--epochs",
        "1",
        "--seeds",
        "0,0",
        "--out",
        str(tmp_path / "out"),
    ]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    second = CliRunner().invoke(app, args)
    assert "1 configuration(s), 0 run(s) trained" in second.stdout
    assert "top-1" in second.stdout and "top-5" not in second.stdout  # 3 classes: top-5 is always 1
    assert (tmp_path / "out" / "summary.csv").is_file()
    bad = CliRunner().invoke(
        app, ["compare", "--data", str(tmp_path / "data.npz"), "--model", "nonet", "--out", str(tmp_path / "bad")]
    )
    assert bad.exit_code == 2 and "unknown model 'nonet'" in bad.output


def test_kernel_models_and_auto_compare_beside_a_gru(data, tmp_path):
    specs = [
        ModelSpec("tiny", TINY),
        ModelSpec("minirocket", {"model": "minirocket", "model_options": {"num_features": 840}}),
        ModelSpec("auto", {"model": "auto", "epochs": 1, "time_budget": 30}),
    ]
    summary = compare(data, specs, tmp_path, seeds=[0, 1], use_cache=False).summary.set_index("config")
    assert summary.loc["minirocket", "top1_mean"] > 0.8
    assert summary.loc["minirocket", "param_count"] > 0 and summary.loc["auto", "latency_us_mean"] > 0
    assert summary.loc["minirocket", "runs"] == 2 and summary.loc["auto", "runs"] == 2


def test_kfold_compare_says_which_class_too_few_groups_leave_out_of_some_folds(tmp_path):
    from tests.data.test_splits_few_groups import videos

    result = compare(videos([3, 3, 2]), [ModelSpec("tiny", TINY)], tmp_path, folds=3)
    (note,) = result.notes
    assert note.startswith("class 'c' has 2 groups (videos, subjects or sessions), fewer than the 3 folds")
    assert "1 of the 3 folds test without it" in note
