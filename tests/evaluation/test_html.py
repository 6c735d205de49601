import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch

from actrec.errors import ConfigError
from actrec.evaluation.html import render_html, write_html_report
from actrec.experiments.audit.report import write_audit
from actrec.experiments.audit.run import audit_dataset
from actrec.experiments.compare import ModelSpec, compare
from actrec.recognizers import TrainConfig
from actrec.runs.sequences import train_run
from tests.helpers.generated import make_dataset

torch.set_num_threads(1)

TINY = {"model": "gru", "model_options": {"hidden_sizes": [8], "dense": []}, "epochs": 3, "batch_size": 32, "lr": 0.01}


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    """A real `actrec train` RUN folder with an audit of the same data beside it."""
    pytest.importorskip(
        "cleanlab", reason="cleanlab is not installed (the audit needs it): pip install 'actrec[audit]'"
    )
    folder = tmp_path_factory.mktemp("run")
    data = make_dataset(n_per_class=20, n_classes=3, steps=16, seed=0)
    train_run(data, folder, TrainConfig(**TINY))
    data.y = data.y.copy()
    data.y[[0, 25, 50]] = [1, 2, 0]  # three wrong labels for the audit to list
    write_audit(audit_dataset(data), folder / "audit")
    return folder


def assert_self_contained(page: str) -> None:
    targets = re.findall(r"""(?:src|href)\s*=\s*["']([^"']*)""", page)
    assert targets and all(target.startswith("data:image/png;base64,") for target in targets)
    assert "http://" not in page and "https://" not in page


def test_run_report_holds_metrics_images_per_class_confusions_audit_and_config(run_folder):
    path = write_html_report(run_folder)
    page = path.read_text()
    assert path == run_folder / "report.html"
    for text in (
        "Metrics",
        "Per class (test)",
        "Training curves",
        "Confusion matrix",
        "Data audit: findings",
        "Label-noise candidates",
        "Configuration (config.json)",
        "action0",
    ):
        assert text in page, text
    assert page.count("data:image/png;base64,") >= 2
    if "Worst confusions" not in page:  # a perfect model has no confusion to list
        confusion = np.loadtxt(run_folder / "confusion.csv", delimiter=",", skiprows=1, usecols=(1, 2, 3))
        assert np.count_nonzero(confusion - np.diag(np.diag(confusion))) == 0
    assert_self_contained(page)


def test_segment_f1_of_training_time_rules_is_its_own_table_not_a_split_row(run_folder, tmp_path):
    folder = Path(shutil.copytree(run_folder, tmp_path / "run"))
    metrics = json.loads((folder / "metrics.json").read_text())
    scores = {"segment_f1": 0.875, "segment_f1_default_rules": 0.5, "sessions": 2, "frames": 900}
    metrics["segments"] = {
        "min_iou": 0.5,
        "rules": {"enter": 0.7},
        "val": scores,
        "test": scores | {"segment_f1": 0.625},
    }
    (folder / "metrics.json").write_text(json.dumps(metrics))
    page = render_html(folder)
    metrics_table, segments_table = page.split("<h2>Metrics</h2>")[1].split("<h2>Streamed segments")
    assert "0.875" in segments_table and "0.625" in segments_table and "segments" not in metrics_table.split("<h2>")[0]


def test_compare_folder_report(tmp_path):
    data = make_dataset(n_per_class=12, n_classes=2, steps=12, seed=1)
    compare(data, [ModelSpec("tiny", TINY | {"epochs": 1})], tmp_path, seeds=[0])
    page = render_html(tmp_path)
    assert "Comparison (mean ± std)" in page and "Accuracy against latency" in page and "tiny" in page
    assert_self_contained(page)


def test_folder_without_results_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match=r"holds no metrics\.json"):
        render_html(tmp_path)
    with pytest.raises(ConfigError, match="no such folder"):
        render_html(tmp_path / "missing")


def test_report_renders_in_headless_chromium(run_folder):
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        pytest.skip("no Chromium to render with (apt-get install -y chromium)")
    from PIL import Image

    page = write_html_report(run_folder)
    with tempfile.TemporaryDirectory() as profile:
        shot = Path(profile) / "shot.png"
        command = [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}/user",
            f"--screenshot={shot}",
            "--window-size=1200,1600",
            page.resolve().as_uri(),
        ]
        subprocess.run(command, capture_output=True, timeout=120)
        assert shot.is_file(), "Chromium wrote no screenshot"
        pixels = np.asarray(Image.open(shot).convert("L"), dtype=np.float64)
    assert pixels.shape == (1600, 1200)
    assert pixels.std() > 10  # text, tables and plots, not a blank page
    assert (pixels < 128).mean() > 0.005  # some dark ink (text) is drawn
