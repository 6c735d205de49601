"""ONNX export: parity with PyTorch, and the file runs in a process with onnxruntime alone."""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from actrec.export.onnx import export_onnx
from actrec.recognizer import Recognizer

torch.set_num_threads(1)
OPTIONS = {
    "gru": {"hidden_sizes": [16, 8], "dense": [8]},
    "lstm": {"hidden_sizes": [8], "dense": [], "pooling": "mean"},
    "inception": {"filters": 4, "depth": 3, "kernel_sizes": [3, 5, 7], "bottleneck": 4},
    "gru_bidirectional": {"hidden_sizes": [8], "dense": [], "bidirectional": True},
    "minirocket": {"num_features": 840},
    "multirocket": {"num_features": 420, "hydra_groups": 8},
}


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 10, 6)).astype(np.float32)
    return X, np.array(["x", "y", "z"] * 10)


@pytest.mark.parametrize("model", list(OPTIONS))
def test_export_matches_pytorch_on_random_and_real_windows(tmp_path, data, model):
    X, y = data
    recognizer = Recognizer(model=model.split("_")[0], model_options=OPTIONS[model], epochs=1, seed=0).fit(X, y)
    result = export_onnx(recognizer, tmp_path / "model.onnx", data=X)
    assert result.kind == ("bank" if model in ("gru", "lstm") else "window")
    assert result.max_abs_diff_random < 1e-4 and result.max_abs_diff_real < 1e-4
    assert (tmp_path / "model.onnx").stat().st_size > 0
    assert "random windows" in result.summary()


@pytest.mark.parametrize("model", ["minirocket", "multirocket", "auto"])
def test_kernel_models_and_the_ensemble_give_predict_proba_on_onnxruntime(tmp_path, data, model):
    import onnxruntime as ort

    from actrec.stream.windows import trailing_windows

    X, y = data
    options = {"model_options": OPTIONS[model]} if model in OPTIONS else {"epochs": 1}
    recognizer = Recognizer(model=model, seed=0, **options).fit(X, y)
    export_onnx(recognizer, tmp_path / "model.onnx", data=X)
    session = ort.InferenceSession(str(tmp_path / "model.onnx"), providers=["CPUExecutionProvider"])
    sequence = np.random.default_rng(1).normal(size=(25, X.shape[2])).astype(np.float32)
    windows, lengths = trailing_windows(recognizer.pipeline.transform(sequence[None], np.array([25]))[0], recognizer.window_length)
    logits = session.run(["logits"], {"features": windows, "lengths": lengths})[0]
    proba = np.exp(logits - logits.max(1, keepdims=True))
    proba /= proba.sum(1, keepdims=True)
    np.testing.assert_allclose(proba, recognizer.proba_from_features(windows, lengths), atol=1e-5)


FRESH_PROCESS = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import onnxruntime as ort
    session = ort.InferenceSession(sys.argv[1], providers=["CPUExecutionProvider"])
    meta = {k: json.loads(v) for k, v in session.get_modelmeta().custom_metadata_map.items()}
    inputs = {}
    for node in session.get_inputs():
        shape = [d if isinstance(d, int) else (1 if node.name == "lengths" or d == "batch" else meta["window_length"])
                 for d in node.shape]
        inputs[node.name] = (np.full(shape, meta["window_length"], np.int64) if node.name == "lengths"
                             else np.ones(shape, np.float32))
    logits = session.run(["logits"], inputs)[0]
    assert "torch" not in sys.modules and "actrec" not in sys.modules
    print(json.dumps({"kind": meta["kind"], "labels": meta["label_names"], "shape": list(logits.shape),
                      "finite": bool(np.isfinite(logits).all())}))
    """
)


@pytest.mark.parametrize("model", ["gru", "inception"])
def test_exported_file_runs_in_a_fresh_process_with_onnxruntime_alone(tmp_path, data, model):
    X, y = data
    recognizer = Recognizer(model=model, model_options=OPTIONS[model], epochs=1, seed=0).fit(X, y)
    export_onnx(recognizer, tmp_path / "model.onnx")
    output = subprocess.run([sys.executable, "-c", FRESH_PROCESS, str(tmp_path / "model.onnx")],
                            capture_output=True, text=True, check=True).stdout
    report = json.loads(output)
    assert report["labels"] == ["x", "y", "z"] and report["finite"]
    assert report["shape"][-1] == 3
