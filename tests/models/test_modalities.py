"""Skeleton modalities: the channels each modality reads, late fusion, a fused model that saves,
exports and streams as one network, and the old name (`streams`) still read."""

from pathlib import Path

import numpy as np
import pytest
import torch

from actrec.data.dataset import SequenceDataset
from actrec.data.segments import windows_from_segments
from actrec.data.synthetic import write_synthetic
from actrec.errors import ConfigError
from actrec.features.modalities import SkeletonModalities, modality_channels, modality_steps
from actrec.features.pipeline import FeaturePipeline
from actrec.models.modalities import ModalityFusion, ModalityFusionConfig
from actrec.recognizers import Recognizer
from actrec.skeletons.schema import Schema

torch.set_num_threads(1)

# stgcn on joint + bone saved by actrec 0.4.0 (config `streams`, pipeline step `skeleton_streams`),
# and the probabilities 0.4.0 gave on `keypoint_windows(n=24)`; made from main at 29bf0a2 by
#   git archive 29bf0a2 | tar -x -C /tmp/actrec-0.4.0 && cd /tmp/actrec-0.4.0 && PYTHONPATH=. python -c \
#   'import numpy as np, torch; from actrec.recognizers import Recognizer; from tests.helpers.keypoint_model
#   import keypoint_windows; torch.set_num_threads(1); w = keypoint_windows(n=24); r = Recognizer("stgcn",
#   model_options={"channels": [8]}, streams=["joint", "bone"], epochs=1, seed=0).fit(w);
#   r.save("OLD.actrec"); np.save("OLD.npy", r.predict_proba(w))'
OLD_MODEL = Path(__file__).parent / "data" / "modalities_0.4.0.actrec"

CHAIN = Schema(name="chain3", joints=["a", "b", "c"], bones=[(0, 1), (1, 2)], root=0, centre=[0], scale_bone=(0, 1))
ALL = ["joint", "bone", "joint_motion", "bone_motion"]


def test_modalities_step_appends_joint_motion_bones_and_bone_motion():
    x = np.arange(2 * 3 * 2, dtype=np.float32).reshape(1, 2, 3, 2) ** 2  # [N=1, T=2, J=3, C=2]
    out = SkeletonModalities(CHAIN.parents().tolist()).fit(x, np.array([2])).transform(x, np.array([2]))
    coords, motion, bones, bone_motion = out[..., :2], out[..., 2:4], out[..., 4:6], out[..., 6:8]
    assert np.array_equal(coords, x)
    assert np.array_equal(motion[:, 0], np.zeros((1, 3, 2))) and np.array_equal(motion[:, 1], x[:, 1] - x[:, 0])
    assert np.array_equal(bones[:, :, 0], np.zeros((1, 2, 2)))  # the root has no bone
    assert np.array_equal(bones[:, :, 2], x[:, :, 2] - x[:, :, 1])
    assert np.array_equal(bone_motion[:, 1], bones[:, 1] - bones[:, 0])


@pytest.mark.parametrize(
    "channels,expected",
    [
        (2, {"joint": [0, 1, 8], "joint_motion": [2, 3, 8], "bone": [4, 5, 8], "bone_motion": [6, 7, 8]}),
        (3, {"joint": [0, 1, 2, 9], "joint_motion": [3, 4, 2, 9], "bone": [5, 6, 2, 9], "bone_motion": [7, 8, 2, 9]}),
    ],
)
def test_each_modality_reads_its_own_coordinates_plus_score_and_presence(channels, expected):
    """Layout per joint: coordinates, other input channels (a score), joint motion, bone,
    bone motion, presence; a score channel goes to every modality, as pyskl keeps it."""
    x = np.random.default_rng(0).normal(size=(4, 5, 3, channels)).astype(np.float32)
    pipeline = FeaturePipeline(modality_steps(CHAIN)).fit(x, np.full(4, 5))
    assert pipeline.transform(x, np.full(4, 5)).shape == (4, 5, 3 * (channels + 2 * 3 + 1))
    assert dict(zip(ALL, modality_channels(pipeline, ALL))) == {s: expected[s] for s in ALL}


def test_fused_output_is_the_log_of_the_weighted_mean_of_member_probabilities():
    torch.manual_seed(0)
    config = ModalityFusionConfig("stgcn", {"channels": [4]}, ["joint", "bone"], [[0, 1], [2, 3]])
    network = ModalityFusion(3 * 4, 3, config, CHAIN).eval()
    network.weights.copy_(torch.tensor([0.75, 0.25]))
    x, lengths = torch.randn(5, 6, 12), torch.tensor([6, 6, 4, 2, 1])
    per_joint = x.view(5, 6, 3, 4)
    joint = network.members[0](per_joint[..., :2].reshape(5, 6, 6), lengths).softmax(1)
    bone = network.members[1](per_joint[..., 2:].reshape(5, 6, 6), lengths).softmax(1)
    assert torch.allclose(network(x, lengths).exp(), 0.75 * joint + 0.25 * bone, atol=1e-6)
    assert "weights" in network.state_dict()  # the fusion weights are saved with the model


def test_modalities_are_checked_before_any_work():
    with pytest.raises(ConfigError, match="unknown modality 'bones'"):
        _ = Recognizer("ctrgcn", modalities=["joint", "bones"]).config  # checked when read, or by fit
    with pytest.raises(ConfigError, match="cannot"):
        _ = Recognizer("minirocket", modalities=["joint", "bone"]).config
    with pytest.raises(ConfigError, match="need keypoint data with a skeleton schema"):
        Recognizer("gru", modalities=["joint"], epochs=1).fit(np.zeros((8, 5, 3)), np.arange(8) % 2)


def test_the_old_name_streams_still_works_with_a_warning():
    with pytest.warns(FutureWarning, match="'streams' is now called 'modalities'"):
        recognizer = Recognizer("stgcn", streams=["joint", "bone"])
    assert recognizer.modalities == ["joint", "bone"] and "streams" not in recognizer.get_params()
    with pytest.raises(ConfigError, match="give only 'modalities'"):
        Recognizer("stgcn", streams=["joint"], modalities=["bone"])


def test_a_model_saved_by_0_4_with_streams_loads_and_predicts_as_it_did():
    from tests.helpers.keypoint_model import keypoint_windows

    recognizer = Recognizer.load(OLD_MODEL)
    assert recognizer.config.modalities == ["joint", "bone"] and len(recognizer.network.members) == 2
    expected = np.load(OLD_MODEL.with_suffix(".npy"))
    np.testing.assert_allclose(recognizer.predict_proba(keypoint_windows(n=24)), expected, atol=1e-6)


@pytest.fixture(scope="module")
def windows(tmp_path_factory: pytest.TempPathFactory):
    folder = write_synthetic(tmp_path_factory.mktemp("synthetic"), n_recordings=3, seed=1, duration_s=20.0)
    return windows_from_segments(folder / "recordings", folder / "segments.csv", window=16, stride=8)


@pytest.mark.parametrize("model,modalities", [("ctrgcn", []), ("ctrgcn", ["joint", "bone_motion"])])
def test_model_saves_exports_and_streams_like_the_others(windows, tmp_path, model, modalities):
    pytest.importorskip("onnxruntime")
    from actrec.export.onnx import export_onnx
    from actrec.stream.engine import Streamer
    from actrec.stream.windows import trailing_windows

    recognizer = Recognizer(model, model_options={"channels": [8, 16]}, modalities=modalities, epochs=1, seed=0).fit(
        windows
    )
    if modalities:
        assert np.isclose(recognizer.network.weights.sum().item(), 1.0) and len(recognizer.network.members) == 2
        assert recognizer.notes and "modalities" in recognizer.notes[0]
    again = Recognizer.load(recognizer.save(tmp_path / "m.actrec"))
    np.testing.assert_array_equal(again.predict_proba(windows), recognizer.predict_proba(windows))
    result = export_onnx(again, tmp_path / "m.onnx", data=windows)
    assert result.kind == "window" and result.max_abs_diff_random < 1e-4 and result.max_abs_diff_real < 1e-4
    # streaming frame by frame gives batch predict's probabilities on each trailing window
    sequence = np.concatenate([windows.X[0], windows.X[-1]])
    sequence = sequence[~np.isnan(sequence).all(axis=(1, 2))][:24]
    streamer = Streamer(again, runtime="onnx")
    streamed = np.stack([streamer.push(frame).probabilities for frame in sequence])
    trailing, lengths = trailing_windows(sequence, again.window_length)
    batch = again.predict_proba(SequenceDataset(X=trailing, lengths=lengths, schema=windows.schema))
    np.testing.assert_allclose(streamed, batch, atol=1e-5)


def test_train_command_turns_modalities_on_under_the_old_flag_too(windows, tmp_path):
    from typer.testing import CliRunner

    from actrec.cli import app

    windows.to_npz(str(tmp_path / "windows.npz"))
    result = CliRunner().invoke(
        app,
        [
            "train",
            "--data",
            str(tmp_path / "windows.npz"),
            "--out",
            str(tmp_path / "run"),
            "--model",
            "stgcn",
            "-o",
            "channels=[8]",
            "--epochs",
            "1",
            "--streams",  # the old name of --modalities
            "joint,bone",
            "--no-progress",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "modalities: one stgcn per modality" in " ".join(result.output.split())
    recognizer = Recognizer.load(tmp_path / "run")
    assert recognizer.config.modalities == ["joint", "bone"] and len(recognizer.network.members) == 2
