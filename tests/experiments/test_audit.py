import json
import subprocess
import sys

import numpy as np
import pytest

from actrec.errors import ConfigError, DataError
from actrec.experiments.audit.label_noise import label_issues
from actrec.experiments.audit.report import write_audit
from actrec.experiments.audit.run import audit_dataset
from tests.helpers.generated import make_dataset

# label_issues (and so every audit) ranks suspect labels with cleanlab, an optional extra
needs_cleanlab = pytest.mark.usefixtures("cleanlab")


@pytest.fixture
def cleanlab():
    return pytest.importorskip("cleanlab", reason="cleanlab is not installed: pip install 'actrec[audit]'")


def flip_labels(data, fraction, seed):
    """Give `fraction` of samples another class; return the flipped indices."""
    rng = np.random.default_rng(seed)
    flipped = rng.choice(data.n_samples, int(round(data.n_samples * fraction)), replace=False)
    y = data.y.copy()
    y[flipped] = (y[flipped] + rng.integers(1, data.n_classes, flipped.size)) % data.n_classes
    data.y = y
    return set(flipped.tolist())


@needs_cleanlab
@pytest.mark.parametrize("seed,model", [(1, "features"), (2, "features"), (1, "ensemble")])
def test_flipped_labels_found_with_recall_and_precision_above_0_7(seed, model):
    data = make_dataset(n_per_class=60, seed=seed)
    flipped = flip_labels(data, 0.10, seed=seed + 10)
    found = set(label_issues(data, model=model, folds=5, seed=0)["indices"])
    recall = len(found & flipped) / len(flipped)
    precision = len(found & flipped) / len(found)
    assert recall >= 0.7, (recall, precision)
    assert precision >= 0.7, (recall, precision)


@needs_cleanlab
def test_candidates_name_id_group_and_time_span():
    data = make_dataset(n_per_class=30, seed=3)
    flip_labels(data, 0.10, seed=4)
    row = label_issues(data)["candidates"][0]
    assert row["id"].startswith("s") and row["group"].startswith("subject")
    assert row["end_s"] > row["start_s"]
    assert row["span"] == f"{row['start_s']:g}-{row['end_s']:g} s"
    assert row["suggested_label"] != row["label"]


@needs_cleanlab
def test_injected_leakage_and_duplicates_reported(tmp_path):
    train = make_dataset(n_per_class=30, seed=1, prefix="tr")
    test = make_dataset(n_per_class=8, seed=2, prefix="te", n_groups=12)
    test.X[0], test.lengths[0] = train.X[3], train.lengths[3]  # exact copy
    test.X[1], test.lengths[1] = train.X[7] + 0.001, train.lengths[7]  # near copy
    test.X[1, test.lengths[1] :] = 0.0
    result = audit_dataset(train, test)

    shared = {row["group"] for row in result["leakage"]["shared"]}
    assert shared == set(train.groups) & set(test.groups) and shared
    exact = [(row["a"]["id"], row["b"]["id"]) for row in result["duplicates"]["exact"]]
    near = [(row["a"]["id"], row["b"]["id"]) for row in result["duplicates"]["near"]]
    assert exact == [("tr3", "te0")]
    assert ("tr7", "te1") in near
    assert any(text.startswith("group leakage") for text in result["findings"])

    json_path, md_path = write_audit(result, tmp_path)
    assert json.loads(json_path.read_text())["duplicates"]["exact_count"] == 1
    assert "tr3" in md_path.read_text() and "te0" in md_path.read_text()


@needs_cleanlab
def test_duplicates_within_one_file_across_groups():
    data = make_dataset(n_per_class=20, seed=5)
    other = int(np.flatnonzero(data.groups != data.groups[0])[0])
    data.X[other], data.lengths[other] = data.X[0], data.lengths[0]
    result = audit_dataset(data)
    pairs = [(row["a"]["id"], row["b"]["id"]) for row in result["duplicates"]["exact"]]
    assert pairs == [("s0", f"s{other}")]


@needs_cleanlab
def test_constant_nan_channels_imbalance_and_lengths():
    data = make_dataset(n_per_class=20, seed=6)
    data.X[:, :, 1] = 2.0
    data.X[:5, :, 3] = np.nan
    data.y = np.where(np.arange(data.n_samples) < 70, 0, data.y)
    result = audit_dataset(data)
    channels = {row["channel"]: row for row in result["channels"]}
    assert channels["channel 1"]["constant"] and not channels["channel 3"]["constant"]
    assert channels["channel 3"]["all_nan_samples"] == 5
    assert result["classes"]["imbalance_ratio"] == pytest.approx(70 / 10)
    assert result["lengths"]["min"] == int(data.lengths.min())
    assert result["lengths"]["max"] == int(data.lengths.max())


@needs_cleanlab
def test_bad_inputs_raise_one_line_errors():
    data = make_dataset(n_per_class=10, seed=7)
    with pytest.raises(ConfigError, match="noise model"):
        label_issues(data, model="nope")
    data.y = None
    with pytest.raises(DataError, match="no labels"):
        audit_dataset(data)


@needs_cleanlab
def test_cli_audit_then_report(tmp_path):
    from typer.testing import CliRunner

    from actrec.cli import app

    train = make_dataset(n_per_class=15, seed=8, prefix="tr")
    test = train.subset(range(0, train.n_samples, 10))  # every 10th sample copied into "test"
    train.to_npz(str(tmp_path / "train.npz"))
    test.to_npz(str(tmp_path / "test.npz"))
    result = CliRunner().invoke(
        app,
        [
            "audit",
            "--data",
            str(tmp_path / "train.npz"),
            "--test",
            str(tmp_path / "test.npz"),
            "--out",
            str(tmp_path / "audit"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "exact duplicate" in result.output and "group leakage" in result.output
    report = CliRunner().invoke(app, ["report", str(tmp_path / "audit")])
    assert report.exit_code == 0, report.output
    assert "Data audit: findings" in (tmp_path / "audit" / "report.html").read_text()


@needs_cleanlab
def test_empty_samples_reported_not_paired_as_duplicates():
    data = make_dataset(n_per_class=20, seed=9)
    data.X[[0, 30, 60]] = np.nan  # three windows where the detector saw nothing, in different groups
    result = audit_dataset(data)
    assert result["missing"]["empty_count"] == 3
    assert [row["id"] for row in result["missing"]["empty"]] == ["s0", "s30", "s60"]
    assert result["duplicates"]["exact_count"] == 0 and result["duplicates"]["near_count"] == 0
    assert any("no finite value" in text for text in result["findings"])


def test_recognizer_noise_model_gives_out_of_fold_probabilities():
    import torch

    from actrec.experiments.audit.label_noise import out_of_fold_proba

    torch.set_num_threads(1)
    data = make_dataset(n_per_class=12, n_classes=2, steps=12, n_groups=4, seed=10)
    proba, folds = out_of_fold_proba(data, model="recognizer", folds=2, seed=0)
    assert folds == 2 and proba.shape == (data.n_samples, 2)
    np.testing.assert_allclose(proba.sum(1), 1.0, atol=1e-5)


def test_the_data_checks_run_without_loading_torch():
    """The model-free half of the audit imports no model code: it runs where torch is absent."""
    script = (
        "import sys\n"
        "from actrec.experiments.audit.data_checks import duplicates, length_summary\n"
        "from actrec.experiments.audit.report import audit_markdown\n"
        "print('torch' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
