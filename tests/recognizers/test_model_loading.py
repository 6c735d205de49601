"""Every consumer of a saved model (serve, eval, predict, stream, export, info, batch prediction)
loads it through `load_recognizer`, which reads the kind from the file: a consumer calling one
recognizer's own `load` is how `actrec serve` came to crash on clip models."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "actrec"
# the recognizer modules: the only places that read a model file themselves
RECOGNIZER_MODULES = {"recognizer.py", "video/recognizer.py"}
KIND_SPECIFIC_LOADING = re.compile(r"\b(Recognizer\.load|VideoRecognizer\.load|is_video_model_file|read_model_file)\(|on_local_copy\([^)]*Recognizer\.load")


def test_no_consumer_loads_a_model_file_but_through_load_recognizer() -> None:
    offences = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative in RECOGNIZER_MODULES:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            defines = line.lstrip().startswith("def ")  # io/model_file.py defines the reader the recognizers call
            if KIND_SPECIFIC_LOADING.search(line) and "call fit or" not in line and not defines:
                offences.append(f"actrec/{relative}:{number}: {line.strip()}")
    assert not offences, "load models with actrec.video.recognizer.load_recognizer:\n" + "\n".join(offences)


def test_load_recognizer_gives_each_kind(tmp_path: Path) -> None:
    pytest.importorskip("cv2", reason="clip models decode video with OpenCV")
    from actrec.recognizer import Recognizer
    from actrec.video.recognizer import VideoRecognizer, load_recognizer
    from tests.helpers.clip_models import save_tiny_clip_model
    from tests.helpers.waves import make_waves

    clip_run = save_tiny_clip_model(tmp_path / "clips")
    Recognizer(model="minirocket", model_options={"num_features": 84}).fit(make_waves(n=40)).save(tmp_path / "waves.actrec")
    clip, sequence = load_recognizer(clip_run), load_recognizer(tmp_path / "waves.actrec")
    assert isinstance(clip, VideoRecognizer) and clip.kind == "video"
    assert isinstance(sequence, Recognizer) and sequence.kind == "sequence"
