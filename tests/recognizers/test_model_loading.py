"""Every consumer of a saved model (serve, eval, predict, stream, export, info, batch prediction)
loads it through `load_recognizer`, which reads the kind from the file: a consumer calling one
recognizer's own `load` is how `actrec serve` came to crash on clip models. Past the loader no
consumer asks which kind it holds: both recognizers answer the same methods."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "actrec"
# the recognizer modules and the model file's own module: the only places that read a model file
# themselves or know its kinds
RECOGNIZER_MODULES = {"recognizers/base.py", "recognizers/sequence.py", "recognizers/clip.py", "io/model_file.py"}
KIND_SPECIFIC_LOADING = re.compile(
    r"\b(Recognizer\.load|VideoRecognizer\.load|is_video_model_file|read_model_file)\(|on_local_copy\([^)]*Recognizer\.load"
)


def test_no_consumer_loads_a_model_file_but_through_load_recognizer() -> None:
    offences = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative in RECOGNIZER_MODULES:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if KIND_SPECIFIC_LOADING.search(line) and "call fit or" not in line:
                offences.append(f"actrec/{relative}:{number}: {line.strip()}")
    assert not offences, "load models with actrec.recognizers.load_recognizer:\n" + "\n".join(offences)


def test_load_recognizer_gives_each_kind(tmp_path: Path) -> None:
    pytest.importorskip("cv2", reason="clip models decode video with OpenCV")
    from actrec.recognizers import Recognizer, VideoRecognizer, load_recognizer
    from tests.helpers.clip_models import save_tiny_clip_model
    from tests.helpers.waves import make_waves

    clip_run = save_tiny_clip_model(tmp_path / "clips")
    Recognizer(model="minirocket", model_options={"num_features": 84}).fit(make_waves(n=40)).save(
        tmp_path / "waves.actrec"
    )
    clip, sequence = load_recognizer(clip_run), load_recognizer(tmp_path / "waves.actrec")
    assert isinstance(clip, VideoRecognizer) and clip.kind == "video"
    assert isinstance(sequence, Recognizer) and sequence.kind == "sequence"


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """{kind: model file} of a tiny model of each kind."""
    pytest.importorskip("cv2", reason="clip models decode video with OpenCV")
    from actrec.recognizers import Recognizer
    from tests.helpers.clip_models import save_tiny_clip_model
    from tests.helpers.waves import make_waves

    folder = tmp_path_factory.mktemp("models")
    sequence = (
        Recognizer(model="minirocket", model_options={"num_features": 84})
        .fit(make_waves(n=40))
        .save(folder / "waves.actrec")
    )
    return {"sequence": sequence, "video": save_tiny_clip_model(folder / "clips") / "model.actrec"}


def test_every_model_file_names_its_kind_and_one_kind_does_not_load_as_the_other(saved: dict[str, Path]) -> None:
    from actrec.errors import ModelFileError
    from actrec.io.model_file import read_model_file
    from actrec.recognizers import Recognizer
    from actrec.recognizers.clip import VideoRecognizer

    assert {kind: read_model_file(path, with_tensors=False)[0]["kind"] for kind, path in saved.items()} == {
        "sequence": "sequence",
        "video": "video",
    }
    for loader, other in ((Recognizer.load, "video"), (VideoRecognizer.load, "sequence")):
        with pytest.raises(ModelFileError, match="load_recognizer") as error:
            loader(saved[other])
        assert "\n" not in str(error.value) and str(saved[other]) in str(error.value)


def rewrite_metadata(source: Path, target: Path, change) -> Path:
    """A copy of model file `source` whose metadata went through `change` (checksum recomputed, as
    a tool re-saving the file would)."""
    from actrec.io.model_file import read_model_file, write_model_file

    metadata, tensors = read_model_file(source)
    write_model_file(target, tensors, change(metadata))
    return target


def test_a_clip_file_with_a_field_missing_or_an_unknown_kind_is_one_line(
    saved: dict[str, Path], tmp_path: Path
) -> None:
    from actrec.errors import ModelFileError
    from actrec.recognizers import load_recognizer

    no_labels = rewrite_metadata(
        saved["video"],
        tmp_path / "no_labels.actrec",
        lambda meta: {k: v for k, v in meta.items() if k != "label_names"},
    )
    with pytest.raises(ModelFileError, match="metadata is not what actrec writes"):
        load_recognizer(no_labels)
    future = rewrite_metadata(saved["sequence"], tmp_path / "future.actrec", lambda meta: meta | {"kind": "hologram"})
    with pytest.raises(ModelFileError, match="kind 'hologram'"):
        load_recognizer(future)


# asking which recognizer one holds: its kind compared (numpy's dtype.kind aside), its class
# checked, the file's metadata read for it
KIND_BRANCHING = re.compile(
    r"(?<!dtype)\.kind\s*(==|!=|\bin\b|\bnot\s+in\b)|(==|!=)\s*\w[\w.\[\]]*(?<!dtype)\.kind\b|[=!]=\s*[\"'](video|sequence)[\"']"
    r"|[\"'](video|sequence)[\"']\s*[=!]=|isinstance\([^)]*\b(Video)?Recognizer\b|\bis_video_model_file\b|\.get\(\s*[\"']kind[\"']|\[[\"']kind[\"']\]"
)


@pytest.mark.parametrize(
    "line",
    [
        'if recognizer.kind == "video":',
        "if local is not None and local.kind == 'video':",
        'if models[model].kind == "video":',
        'if recognizer.kind != "video" and test_clips:',
        'if kind == "sequence":',
        "if isinstance(model, VideoRecognizer):",
        'if meta.get("kind") != "video":',
        "if is_video_model_file(path):",
    ],
)
def test_the_kind_scan_sees_each_way_of_asking(line: str) -> None:
    assert KIND_BRANCHING.search(line)


@pytest.mark.parametrize(
    "line",
    [
        'if y.dtype.kind in "USO":',
        "if p.kind is not p.VAR_KEYWORD",
        "name=name, kind=recognizer.kind, label_names=names",
    ],
)
def test_the_kind_scan_lets_other_kinds_be(line: str) -> None:
    assert not KIND_BRANCHING.search(line)


def test_no_module_outside_the_recognizers_branches_on_the_kind() -> None:
    offences = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative in RECOGNIZER_MODULES:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if KIND_BRANCHING.search(line.split("#")[0]):
                offences.append(f"actrec/{relative}:{number}: {line.strip()}")
    assert not offences, "call a method both recognizers have (or read input_medium) instead:\n" + "\n".join(offences)


# what consumers call on whatever load_recognizer gives; the first three take the same arguments
DOOR_METHODS = ("prediction_options", "read_data", "predict_data", "predict_proba", "describe", "metadata", "save")
DOOR_ATTRIBUTES = ("kind", "input_medium", "frame_shape", "feature_names", "schema", "schema_definition")


def test_both_recognizers_answer_the_consumers_door() -> None:
    pytest.importorskip("cv2", reason="clip models decode video with OpenCV")
    from actrec.recognizers import Recognizer
    from actrec.recognizers.clip import VideoRecognizer

    for name in DOOR_METHODS:
        assert callable(getattr(Recognizer, name)) and callable(getattr(VideoRecognizer, name)), name
    for name in DOOR_METHODS[:3]:
        assert list(inspect.signature(getattr(Recognizer, name)).parameters) == list(
            inspect.signature(getattr(VideoRecognizer, name)).parameters
        ), name
    for name in DOOR_ATTRIBUTES:
        assert hasattr(Recognizer(), name) and hasattr(VideoRecognizer("tsn"), name), name
    assert isinstance(VideoRecognizer.window_length, property)
    assert {Recognizer.input_medium, VideoRecognizer.input_medium} == {"frames", "video"}
