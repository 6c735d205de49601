"""A crafted but well-formed model file (valid safetensors, a matching checksum, metadata edited)
is refused in one line naming the file by `Recognizer.load`, `actrec info` and `actrec predict`:
an unknown config key, `window_length: "abc"`, a missing pipeline, and `hidden_sizes: [200000]`,
which is refused from the shapes alone, before ~480 GB are allocated."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from actrec.cli import app as cli
from actrec.errors import ModelFileError
from actrec.io.model_file import CHECKSUM_KEY, METADATA_KEY, model_checksum
from actrec.recognizers import Recognizer
from tests.helpers.waves import make_waves


def unknown_key(meta):
    meta["config"]["nope"] = 1


def text_window(meta):
    meta["window_length"] = "abc"


def no_pipeline(meta):
    del meta["pipeline"]


def huge_network(meta):
    meta["config"]["model_options"]["hidden_sizes"] = [200_000]


def bad_option(meta):
    meta["config"]["model_options"]["hidden_sizes"] = "wide"


EDITS = {
    "unknown config key": (unknown_key, "nope"),
    "window_length abc": (text_window, "abc"),
    "missing pipeline": (no_pipeline, "pipeline"),
    "hidden_sizes [200000]": (huge_network, "200000], but the file holds"),
    "option of the wrong type": (bad_option, "hidden_sizes"),
}


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("model") / "model.actrec"
    Recognizer(model="gru", model_options={"hidden_sizes": [8], "dense": []}, epochs=1, seed=0).fit(
        make_waves(n=30)
    ).save(path)
    return path


def crafted(saved: Path, folder: Path, edit) -> Path:
    """`saved` with its metadata edited by `edit`, and a checksum that matches the edit."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    with safe_open(str(saved), framework="pt") as handle:
        meta = json.loads(handle.metadata()[METADATA_KEY])
        tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118 (safe_open is not iterable)
    edit(meta)
    text = json.dumps(meta)
    path = folder / "crafted.actrec"
    save_file(tensors, path, metadata={METADATA_KEY: text, CHECKSUM_KEY: model_checksum(text, tensors)})
    return path


@pytest.mark.parametrize("case", sorted(EDITS))
def test_crafted_metadata_is_one_line_naming_the_file(saved, tmp_path, waves_npz, case):
    edit, expected = EDITS[case]
    path = crafted(saved, tmp_path, edit)
    with pytest.raises(ModelFileError) as error:
        Recognizer.load(path)
    message = str(error.value)
    assert message.startswith(f"{path}: ") and expected in message and "\n" not in message
    for args in (
        ["info", str(path)],
        ["predict", str(path), "--data", str(waves_npz), "--out", str(tmp_path / "p.csv")],
    ):
        result = CliRunner().invoke(cli, args)
        errors = [line for line in result.output.splitlines() if line.startswith("error:")]
        assert result.exit_code == 2 and len(errors) == 1 and path.name in errors[0], result.output
