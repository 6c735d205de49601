"""Fuzz the `actrec` command with malformed files: `train` (data, labels, --config), `eval` and
`predict` against a tiny trained model, and `dataset build`.

Property: exit 0, or exit 2 with one `error:` line naming a file given; never a traceback (typer's
runner keeps any exception in `result.exception`). `train` gets a missing `--test` file, so a
data file that loads stops there instead of training. See fuzzing.py.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from actrec.cli import app
from tests.fuzz.fuzzing import COUNTS, corrupted, fuzz_settings, scratch
from tests.fuzz.test_fuzz_arrays import npy_array, npz_arrays
from tests.fuzz.test_fuzz_keypoints import npz_bytes, recording_arrays, segments_rows
from tests.fuzz.test_fuzz_text_formats import features_csv, labels_csv, ts_text
from tests.fuzz.test_fuzz_yaml import CONFIG, document

runner = CliRunner()


def invoke_cleanly(args: list[str], *files: Path) -> int:
    """Run the command; assert it ended in success or in one `error:` line naming one of `files`."""
    COUNTS["inputs"] += 1
    result = runner.invoke(app, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        COUNTS["tracebacks"] += 1
        raise result.exception
    assert result.exit_code in (0, 2), result.output
    if result.exit_code == 2:
        lines = [line for line in result.output.splitlines() if line.startswith("error:")]
        assert len(lines) == 1, result.output
        assert any(str(f) in lines[0] or f.name in lines[0] for f in files), lines[0]
        COUNTS["refused"] += 1
    else:
        COUNTS["loaded"] += 1
    return result.exit_code


def array_bytes(arrays: dict[str, np.ndarray] | np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays) if isinstance(arrays, dict) else np.save(buffer, arrays)
    return buffer.getvalue()


@st.composite
def data_file(draw: st.DrawFn, folder: Path) -> tuple[list[str], list[Path]]:
    """(the --data/--labels/--label-last arguments, files written) for one fuzzed data file."""
    kind = draw(st.sampled_from(["npz", "npy", "csv", "ts"]))
    path = folder / f"data.{kind}"
    args, files = ["--data", path], [path]
    if kind == "npz":
        path.write_bytes(draw(corrupted(array_bytes(draw(npz_arrays())))))
    elif kind == "npy":
        path.write_bytes(draw(corrupted(array_bytes(draw(npy_array())))))
        args += ["--label-last"] if draw(st.booleans()) else []
    elif kind == "csv":
        content, ids = draw(features_csv())
        path.write_bytes(draw(corrupted(content)))
        labels = folder / "labels.csv"
        labels.write_bytes(draw(labels_csv(ids)))
        args, files = [*args, "--labels", labels], [*files, labels]
    else:
        path.write_bytes(draw(ts_text()))
    return args, files


@fuzz_settings(60)
@given(data=st.data())
def test_train_refuses_malformed_data_and_config_in_one_line(data):
    with scratch() as folder:
        args, files = data.draw(data_file(folder))
        config = folder / "config.yaml"
        if data.draw(st.booleans()):
            config.write_bytes(data.draw(document(CONFIG)))
            args, files = [*args, "--config", config], [*files, config]
        test = folder / "missing_test.npz"
        invoke_cleanly(["train", *args, "--out", folder / "run", "--test", test], *files, test)


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny GRU trained on 3 x 4 features, 2 classes."""
    folder = tmp_path_factory.mktemp("fuzz-model")
    rng = np.random.default_rng(0)
    np.savez(
        folder / "train.npz",
        X=rng.standard_normal((24, 3, 4)).astype(np.float32),
        y=np.arange(24) % 2,
        groups=np.arange(24) // 2,
    )
    args = [
        "train",
        "--data",
        folder / "train.npz",
        "--out",
        folder / "run",
        "--model",
        "gru",
        "-o",
        "hidden_sizes=[4]",
        "-o",
        "dense=[]",
        "--epochs",
        "1",
        "--no-progress",
    ]
    assert runner.invoke(app, [str(a) for a in args]).exit_code == 0
    return folder / "run"


@fuzz_settings(40)
@given(data=st.data())
def test_eval_and_predict_refuse_malformed_data_in_one_line(model, data):
    with scratch() as folder:
        args, files = data.draw(data_file(folder))
        if data.draw(st.booleans()):
            invoke_cleanly(["eval", model, *args], *files)
        else:
            args = [a for a in args if a != "--labels" and not (isinstance(a, Path) and a.name == "labels.csv")]
            invoke_cleanly(["predict", model, *args, "--out", folder / "predictions.csv"], *files)


@fuzz_settings(40)
@given(data=st.data())
def test_dataset_build_refuses_malformed_recordings_and_segments_in_one_line(data):
    names = data.draw(st.lists(st.sampled_from(["walk_01", "sit_02"]), min_size=1, max_size=2, unique=True))
    with scratch() as folder:
        recordings = folder / "recordings"
        recordings.mkdir()
        files = [recordings, folder / "segments.csv"]
        for name in names:
            files.append(recordings / f"{name}.npz")
            files[-1].write_bytes(
                data.draw(corrupted(npz_bytes(data.draw(recording_arrays(joints=2, schema="coco17")))))
            )
        files[1].write_bytes(data.draw(segments_rows(names)))
        window = data.draw(st.sampled_from(["4", "1", "30"]))
        invoke_cleanly(
            [
                "dataset",
                "build",
                "--recordings",
                recordings,
                "--segments",
                files[1],
                "--window",
                window,
                "--stride",
                "2",
                "--unit",
                "frames",
                "--out",
                folder / "windows.npz",
            ],
            *files,
        )
