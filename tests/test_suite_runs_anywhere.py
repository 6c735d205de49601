"""The test suite itself runs as a script or CI job runs it: bare `pytest` (the project not on
sys.path), no terminal, a narrow COLUMNS, and optional parts missing."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# `pytest` as its console script runs it: sys.modules entries set to None make those imports fail
# (and importlib.util.find_spec return None), as on a machine without the optional extras
BARE_PYTEST = (
    "import sys; sys.modules.update(dict.fromkeys(['cv2', 'mediapipe', 'cleanlab', 'optuna']));"
    "import pytest; sys.exit(pytest.main())"
)


def test_without_optional_parts_tests_skip_with_a_reason_and_csv_streaming_still_runs(tmp_path: Path):
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"} | {"COLUMNS": "40"}
    files = ["tests/stream/test_live.py", "tests/experiments/test_audit.py", "tests/data/test_dataset_and_splits.py"]
    result = subprocess.run(
        [
            sys.executable,
            "-P",
            "-c",
            BARE_PYTEST,
            *files,
            "-p",
            "no:cacheprovider",
            f"--junitxml={tmp_path / 'junit.xml'}",
        ],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    outcomes = {}
    for case in ET.parse(tmp_path / "junit.xml").iter("testcase"):
        skipped = case.find("skipped")
        outcomes[case.get("name")] = (
            "passed" if len(case) == 0 else (skipped.get("message") if skipped is not None else "failed")
        )
    assert outcomes["test_csv_source_matches_columns_by_name_and_streams_every_row"] == "passed"
    assert (
        outcomes["test_holdout_never_puts_one_group_on_both_sides"] == "passed"
    )  # `tests.helpers.waves` found under bare pytest
    assert "OpenCV is not installed" in outcomes["test_fast_replay_of_a_video_file_drops_nothing"]
    assert "cleanlab is not installed" in outcomes["test_duplicates_within_one_file_across_groups"]
