"""Every model file carries a checksum of its tensors and metadata: flipped bytes in the weights
or an edited header are refused in one line naming the file (by `Recognizer.load` and by `actrec
info` / `predict`), a file saved before checksums existed still loads, and a good file loads."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
from typer.testing import CliRunner

from actrec.cli import app as cli
from actrec.errors import ModelFileError
from actrec.io.model_file import CHECKSUM_KEY, METADATA_KEY
from actrec.recognizers import Recognizer
from tests.helpers.waves import make_waves


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "model.actrec"
    Recognizer(model="gru", model_options={"hidden_sizes": [8], "dense": []}, epochs=1, seed=0).fit(
        make_waves(n=30)
    ).save(path)
    return path


def data_span(path) -> tuple[int, int]:
    """(start, end) of the tensor bytes in a safetensors file: after the 8-byte length and the header."""
    header_length = struct.unpack("<Q", path.read_bytes()[:8])[0]
    return 8 + header_length, path.stat().st_size


def flipped(saved, tmp_path, offset_in_data: int):
    data = bytearray(saved.read_bytes())
    start, end = data_span(saved)
    at = start + offset_in_data % (end - start - 16)
    data[at : at + 16] = bytes(byte ^ 0x5A for byte in data[at : at + 16])
    path = tmp_path / "flipped.actrec"
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("offset", [0, 1000, 2_000_003])
def test_flipped_bytes_in_the_weights_are_refused_in_one_line(saved, tmp_path, offset):
    path = flipped(saved, tmp_path, offset)
    with pytest.raises(ModelFileError) as error:
        Recognizer.load(path)
    assert str(error.value).startswith(f"{path}: checksum mismatch") and "\n" not in str(error.value)


def test_an_edited_header_is_refused(saved, tmp_path):
    from safetensors import safe_open
    from safetensors.torch import save_file

    with safe_open(str(saved), framework="pt") as handle:
        header = handle.metadata()
        tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118 (safe_open is not iterable)
    meta = json.loads(header[METADATA_KEY])
    meta["label_names"] = list(reversed(meta["label_names"]))  # swapped labels: every answer wrong
    save_file(
        tensors,
        tmp_path / "edited.actrec",
        metadata={METADATA_KEY: json.dumps(meta), CHECKSUM_KEY: header[CHECKSUM_KEY]},
    )
    with pytest.raises(ModelFileError, match="checksum mismatch"):
        Recognizer.load(tmp_path / "edited.actrec")


def test_a_good_file_and_one_saved_before_checksums_load(saved, tmp_path):
    from safetensors import safe_open
    from safetensors.torch import save_file

    X = make_waves(n=5, seed=4)
    expected = Recognizer.load(saved).predict_proba(X)
    with safe_open(str(saved), framework="pt") as handle:
        header = handle.metadata()
        tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118 (safe_open is not iterable)
    assert len(header[CHECKSUM_KEY]) == 64
    save_file(tensors, tmp_path / "old.actrec", metadata={METADATA_KEY: header[METADATA_KEY]})
    np.testing.assert_array_equal(Recognizer.load(tmp_path / "old.actrec").predict_proba(X), expected)


@pytest.mark.parametrize("command", [["info"], ["predict", "--out", "out.csv"]])
def test_commands_refuse_a_damaged_model_in_one_line(saved, tmp_path, waves_npz, command, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = flipped(saved, tmp_path, 1000)
    args = [command[0], str(path)] + (["--data", str(waves_npz)] if command[0] == "predict" else []) + command[1:]
    result = CliRunner().invoke(cli, args)
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert result.exit_code == 2 and len(errors) == 1 and "checksum mismatch" in errors[0], result.output
    assert not (tmp_path / "out.csv").exists()


def test_a_run_folders_model_linking_out_of_the_folder_is_refused(saved, tmp_path):
    outside, run = tmp_path / "elsewhere.actrec", tmp_path / "run"
    outside.write_bytes(saved.read_bytes())
    run.mkdir()
    (run / "model.actrec").symlink_to(outside)
    with pytest.raises(ModelFileError) as error:
        Recognizer.load(run)
    assert str(error.value).startswith(f"{run / 'model.actrec'}: a link to {outside}, outside the RUN folder")
    assert Recognizer.load(outside).label_names == Recognizer.load(saved).label_names  # the file itself loads
    inside = tmp_path / "versioned"
    (inside / "v1").mkdir(parents=True)
    (inside / "v1" / "model.actrec").write_bytes(saved.read_bytes())
    (inside / "model.actrec").symlink_to(inside / "v1" / "model.actrec")
    assert Recognizer.load(inside).label_names == Recognizer.load(saved).label_names
