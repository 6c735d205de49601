"""`Capabilities.onnx` is a promise kept: every registered model that declares it exports with
parity (here on raw keypoints with undetected joints, which every model takes), and a model that
does not declare it is refused by `actrec export` in one line, before any tracing."""

import pytest
import torch
from typer.testing import CliRunner

pytest.importorskip("onnxruntime", reason="ONNX export needs the export extra (pip install 'actrec[export]')")

from actrec.cli import app
from actrec.export.onnx import export_onnx
from actrec.models.registry import MODELS, Capabilities, model_capabilities, model_names
from actrec.recognizers import Recognizer
from tests.export.test_onnx import hand_data

torch.set_num_threads(1)
# Recognizer options that fit each registered model in a second or two on 30 windows; a model
# registered without an entry here fails its test below: add one
TINY = {
    "auto": {"time_budget": 1.0},  # its kernel member alone: no time left for a network
    "ctrgcn": {"model_options": {"channels": [8, 8], "dilations": [1]}},
    "gru": {"model_options": {"hidden_sizes": [8], "dense": []}},
    "inception": {"model_options": {"filters": 4, "depth": 3, "kernel_sizes": [3, 5, 7], "bottleneck": 4}},
    "lstm": {"model_options": {"hidden_sizes": [8], "dense": [], "pooling": "mean"}},
    "minirocket": {"model_options": {"num_features": 840}},
    "multirocket": {"model_options": {"num_features": 420, "hydra_groups": 8}},
    "stgcn": {"model_options": {"channels": [8, 8]}},
}
runner = CliRunner()


@pytest.fixture(scope="module")
def hands():
    return hand_data(1, 30)


@pytest.mark.parametrize("model", model_names("frames"))
def test_every_registered_model_keeps_its_onnx_declaration(model, hands, tmp_path):
    assert model in TINY, f"model '{model}' is registered but has no tiny config in this test"
    recognizer = Recognizer(model=model, epochs=1, seed=0, **TINY[model]).fit(hands)
    declared = model_capabilities(model, recognizer.config.model_options).onnx
    if not declared:
        recognizer.save(tmp_path)
        result = runner.invoke(app, ["export", str(tmp_path)])
        assert result.exit_code == 2 and result.output.strip().count("\n") == 0, result.output
        assert "does not export to ONNX" in result.output and not (tmp_path / "model.onnx").exists()
        return
    result = export_onnx(recognizer, tmp_path / "model.onnx", data=hands)
    assert result.max_abs_diff_random < 1e-4 and result.max_abs_diff_real < 1e-4, result.summary()


def test_a_model_declaring_no_onnx_is_refused_in_one_line_before_tracing(hands, tmp_path, monkeypatch):
    recognizer = Recognizer(model="gru", epochs=1, seed=0, **TINY["gru"]).fit(hands)
    recognizer.save(tmp_path)
    network_class = MODELS["gru"][1]
    monkeypatch.setattr(network_class, "capabilities_for", classmethod(lambda cls, config: Capabilities(onnx=False)))
    monkeypatch.setattr(
        torch.onnx, "export", lambda *args, **kwargs: pytest.fail("traced a model declaring onnx=False")
    )
    result = runner.invoke(app, ["export", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert result.output.strip().count("\n") == 0 and "model 'gru' does not export to ONNX" in result.output
    assert not (tmp_path / "model.onnx").exists()
