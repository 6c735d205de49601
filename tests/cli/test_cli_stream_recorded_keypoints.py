"""Issue 19, item 1: a keypoint model streams a recorded session locally, from a keypoint CSV
(J*C columns, empty cells = undetected joints), a recording .npz, or a folder of OpenPose JSON."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from actrec.cli import app
from actrec.io.recording import Recording, save_recording
from tests.helpers.keypoint_model import FPS, fit_keypoint_model

N_FRAMES = 30


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return fit_keypoint_model(tmp_path_factory.mktemp("kp_run"))


def session_keypoints(seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    keypoints = rng.normal(size=(N_FRAMES, 17, 3)).astype(np.float32)
    keypoints[..., 2] = 1.0
    return keypoints


def stream(run_dir, source, *extra):
    return CliRunner().invoke(app, ["stream", str(run_dir), "--source", str(source), "--fast", *extra])


def test_keypoint_csv_rows_become_joint_frames_and_empty_cells_missing_joints(run_dir, tmp_path):
    keypoints = session_keypoints()
    table = pd.DataFrame(keypoints.reshape(N_FRAMES, -1), columns=[f"j{j}_{c}" for j in range(17) for c in "xyc"])
    table.insert(0, "time", np.arange(N_FRAMES) / FPS)
    table.iloc[3, 1:4] = np.nan  # the nose not detected on frame 3: written as empty cells
    table.to_csv(tmp_path / "session.csv", index=False, na_rep="")
    assert ",,," in (tmp_path / "session.csv").read_text()
    events = tmp_path / "events.jsonl"
    result = stream(run_dir, f"csv:{tmp_path / 'session.csv'}", "--events", str(events))
    assert result.exit_code == 0, result.output
    assert f"{N_FRAMES} frames, {N_FRAMES} recognized, 0 dropped" in result.output
    assert all(json.loads(line)["label"] in ("still", "wave") for line in events.read_text().splitlines())


def test_keypoint_csv_with_the_wrong_column_count_is_one_line(run_dir, tmp_path):
    table = pd.DataFrame(session_keypoints().reshape(N_FRAMES, -1)[:, :50])
    table.insert(0, "time", np.arange(N_FRAMES) / FPS)
    table.to_csv(tmp_path / "short.csv", index=False)
    result = stream(run_dir, f"csv:{tmp_path / 'short.csv'}")
    assert result.exit_code == 2
    assert "50 feature columns" in result.output and "takes 51" in result.output


def test_recording_npz_streams_with_its_own_frame_times(run_dir, tmp_path):
    keypoints = session_keypoints()
    present = np.ones(N_FRAMES, dtype=bool)
    present[5] = False
    save_recording(tmp_path / "rec.npz", Recording(keypoints, present, FPS, np.arange(N_FRAMES), "coco17"))
    result = stream(run_dir, tmp_path / "rec.npz")
    assert result.exit_code == 0, result.output
    assert f"{N_FRAMES} frames, {N_FRAMES} recognized" in result.output


def test_openpose_json_folder_is_imported_on_the_fly_and_mapped_to_the_model_joints(run_dir, tmp_path):
    folder = tmp_path / "op_json"
    folder.mkdir()
    rng = np.random.default_rng(4)
    for frame in range(12):
        body = np.column_stack([rng.normal(size=(25, 2)) * 10 + 100, np.full(25, 0.9)]).reshape(-1).tolist()
        person = {"pose_keypoints_2d": body}
        (folder / f"clip_{frame:012d}_keypoints.json").write_text(json.dumps({"people": [person]}))
    result = stream(run_dir, folder)
    assert result.exit_code == 0, result.output
    assert "12 frames, 12 recognized" in result.output


def test_a_recording_into_a_sensor_model_is_refused_in_one_line(tmp_path):
    from actrec.data.dataset import SequenceDataset
    from actrec.recognizers import Recognizer

    rng = np.random.default_rng(0)
    sensors = SequenceDataset(
        X=rng.normal(size=(12, 6, 3)), lengths=np.full(12, 6), y=np.arange(12) % 2, sample_rate_hz=FPS
    )
    Recognizer(model="gru", model_options={"hidden_sizes": [4], "dense": []}, epochs=1, seed=0).fit(sensors).save(
        tmp_path / "model.actrec"
    )
    save_recording(
        tmp_path / "rec.npz",
        Recording(session_keypoints(), np.ones(N_FRAMES, bool), FPS, np.arange(N_FRAMES), "coco17"),
    )
    result = stream(tmp_path, tmp_path / "rec.npz")
    assert result.exit_code == 2 and "rec.npz" in result.output and "keypoint model" in result.output


def test_keypoint_csv_columns_named_by_joint_are_taken_in_the_model_order(run_dir, tmp_path):
    from actrec.recognizers import Recognizer
    from actrec.stream.sources import CsvSource

    recognizer = Recognizer.load(run_dir)
    joints = recognizer.skeleton().joints
    keypoints = session_keypoints()
    table = pd.DataFrame(
        {f"{joint}_{channel}": keypoints[:, j, c] for j, joint in enumerate(joints) for c, channel in enumerate("xys")}
    )
    table = table[list(reversed(table.columns))]  # any column order
    table.insert(0, "time", np.arange(N_FRAMES) / FPS)
    table["frame_note"] = 1.0  # a column that is no joint's is ignored
    table.to_csv(tmp_path / "named.csv", index=False)
    source = CsvSource(tmp_path / "named.csv", recognizer)
    assert source.values.shape == (N_FRAMES, 17, 3)
    assert np.allclose(source.values, keypoints)
    table.drop(columns=["nose_x"]).to_csv(tmp_path / "no_nose.csv", index=False)
    result = stream(run_dir, f"csv:{tmp_path / 'no_nose.csv'}")
    assert result.exit_code == 2 and "joint column(s) missing for nose" in result.output
