"""`actrec doctor`: versions, threads, optional parts found, and what a missing one turns off."""

from __future__ import annotations

import sys

import torch
from typer.testing import CliRunner

import actrec
from actrec.cli import app


def test_doctor_reports_versions_threads_and_parts():
    result = CliRunner().invoke(app, ["doctor"])
    assert result.exit_code == 0, result.output
    assert f"torch {torch.__version__}" in result.stdout and f"actrec {actrec.__version__}" in result.stdout
    assert f"torch threads: {torch.get_num_threads()}" in result.stdout
    parts = [line.split()[0] for line in result.stdout.splitlines() if line.startswith("  ")]
    assert len(parts) == 9 and set(parts) <= {"ok", "missing", "broken"}
    for name in ("MediaPipe", "onnxruntime", "optuna", "cleanlab", "aeon", "Chromium", "PostgreSQL server"):
        assert name in result.stdout, name


def test_a_missing_part_names_what_it_turns_off_and_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "optuna", None)  # as if not installed
    monkeypatch.setitem(sys.modules, "cleanlab", None)
    monkeypatch.setenv("PATH", str(tmp_path))  # no chromium on the PATH
    lines = CliRunner().invoke(app, ["doctor"]).stdout.splitlines()
    optuna = next(line for line in lines if "optuna" in line)
    assert optuna.split()[0] == "missing" and "actrec sweep" in optuna and "pip install 'actrec[search]'" in optuna
    cleanlab = next(line for line in lines if "cleanlab" in line)
    assert cleanlab.split()[0] == "missing" and "actrec audit" in cleanlab
    chromium = next(line for line in lines if "Chromium" in line)
    assert chromium.split()[0] == "missing" and "apt-get install chromium" in chromium
