"""ONNX export: the file takes raw samples and gives `predict_proba`'s values, also in a process
with onnxruntime and NumPy alone."""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

pytest.importorskip("onnxruntime", reason="ONNX export needs the export extra (pip install 'actrec[export]')")

from actrec.data.dataset import SequenceDataset
from actrec.export.onnx import export_onnx
from actrec.recognizers import Recognizer

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


def hand_data(seed: int, n: int) -> SequenceDataset:
    """Hand keypoints with undetected joints and frames: what the graph's gap filling must fill."""
    rng = np.random.default_rng(seed)
    X = (rng.normal(size=(21, 3)) + 0.05 * rng.normal(size=(n, 10, 21, 3))).astype(np.float32)
    X[rng.random(X.shape[:3]) < 0.15] = np.nan
    X[0, 3:5] = np.nan  # a whole missing frames
    X[1, :, 4] = np.nan  # a joint never seen
    return SequenceDataset(
        X=X, lengths=np.full(n, 10), y=np.arange(n) % 2, label_names=["open", "fist"], schema="mediapipe_hand"
    )


@pytest.fixture(scope="module")
def hand_models():
    train = hand_data(1, 30)
    return {
        model: Recognizer(model=model, model_options=OPTIONS[model], epochs=1, seed=0).fit(train)
        for model in ("gru", "inception")
    }


@pytest.mark.parametrize("model", [*OPTIONS, "auto"])
def test_sensor_export_matches_predict_proba_on_random_and_real_windows(tmp_path, data, model):
    X, y = data
    options = {"model_options": OPTIONS[model]} if model in OPTIONS else {}
    recognizer = Recognizer(model=model.split("_")[0], epochs=1, seed=0, **options).fit(X, y)
    result = export_onnx(recognizer, tmp_path / "model.onnx", data=X)
    assert result.kind == "window"
    assert result.max_abs_diff_random < 1e-4 and result.max_abs_diff_real < 1e-4
    assert "predict_proba" in result.summary()


@pytest.mark.parametrize("model", ["gru", "inception"])
def test_keypoint_export_matches_predict_proba_with_missing_joints(tmp_path, hand_models, model):
    import onnxruntime as ort

    result = export_onnx(hand_models[model], tmp_path / "model.onnx", data=hand_data(2, 8))
    assert result.max_abs_diff_random < 1e-4 and result.max_abs_diff_real < 1e-4
    session = ort.InferenceSession(str(tmp_path / "model.onnx"), providers=["CPUExecutionProvider"])
    assert [(node.name, node.shape[2:]) for node in session.get_inputs()] == [
        ("keypoints", [21, 3]),
        ("present", [21]),
        ("lengths", []),
    ]


FRESH_PROCESS = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import onnxruntime as ort
    session = ort.InferenceSession(sys.argv[1], providers=["CPUExecutionProvider"])
    meta = {k: json.loads(v) for k, v in session.get_modelmeta().custom_metadata_map.items()}
    with np.load(sys.argv[2]) as arrays:
        feeds = {name: arrays[name] for name in meta["inputs"]}
    probabilities = session.run(["probabilities"], feeds)[0]
    np.save(sys.argv[3], probabilities)
    assert "torch" not in sys.modules and "actrec" not in sys.modules
    print(json.dumps({"inputs": [node.name for node in session.get_inputs()], "labels": meta["label_names"]}))
    """
)


def run_fresh(tmp_path, feeds: dict) -> tuple[dict, np.ndarray]:
    np.savez(tmp_path / "feeds.npz", **feeds)
    output = subprocess.run(
        [
            sys.executable,
            "-c",
            FRESH_PROCESS,
            str(tmp_path / "model.onnx"),
            str(tmp_path / "feeds.npz"),
            str(tmp_path / "proba.npy"),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(output), np.load(tmp_path / "proba.npy")


@pytest.mark.parametrize("model", ["gru", "inception"])
def test_a_process_with_onnxruntime_alone_reproduces_predict_proba_from_raw_keypoints(tmp_path, hand_models, model):
    recognizer = hand_models[model]
    export_onnx(recognizer, tmp_path / "model.onnx")
    samples = hand_data(3, 6)
    lengths = np.array([10, 10, 9, 7, 4, 1])
    # Half the missing joints are NaN, the other half hold junk values with present = False.
    present = np.isfinite(samples.X).all(-1)
    keypoints = samples.X.copy()
    junk = ~present & (np.arange(21) % 2 == 0)
    keypoints[junk] = 1e6
    report, probabilities = run_fresh(tmp_path, {"keypoints": keypoints, "present": present, "lengths": lengths})
    expected = recognizer.predict_proba(SequenceDataset(X=samples.X, lengths=lengths, schema="mediapipe_hand"))
    assert report == {"inputs": ["keypoints", "present", "lengths"], "labels": ["open", "fist"]}
    assert np.abs(probabilities - expected).max() < 1e-4
    assert np.abs(expected - expected[0]).max() > 1e-3  # the samples differ, so equal values mean something


def test_a_process_with_onnxruntime_alone_reproduces_predict_proba_from_raw_sensor_values(tmp_path, data):
    X, y = data
    recognizer = Recognizer(model="inception", model_options=OPTIONS["inception"], epochs=1, seed=0).fit(X, y)
    export_onnx(recognizer, tmp_path / "model.onnx")
    samples = (np.random.default_rng(4).normal(size=(5, 10, 6)) * 3 + 1).astype(np.float32)
    lengths = np.array([10, 8, 6, 3, 1])
    report, probabilities = run_fresh(tmp_path, {"features": samples, "lengths": lengths})
    assert report == {"inputs": ["features", "lengths"], "labels": ["x", "y", "z"]}
    assert np.abs(probabilities - recognizer.predict_proba(samples, lengths=lengths)).max() < 1e-4
