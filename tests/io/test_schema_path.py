"""A schema .yaml named inside a recording or dataset file is found from any working directory:
its path is relative to the file's folder."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from actrec.data.loading import load_dataset
from actrec.data.segments import windows_from_segments
from actrec.io.recording import Recording, load_recording, save_recording
from actrec.skeletons import get_schema

DOC = Path(__file__).resolve().parents[2] / "docs" / "keypoints.md"


def documented_schema() -> str:
    """The full YAML example of docs/keypoints.md."""
    blocks = re.findall(r"```yaml\n(.*?)```", DOC.read_text(), flags=re.S)
    return next(block for block in blocks if "name: quadruped15" in block)


def test_the_documented_example_is_a_valid_schema(tmp_path: Path):
    (tmp_path / "quadruped15.yaml").write_text(documented_schema())
    schema = get_schema(str(tmp_path / "quadruped15.yaml"))
    assert schema.n_joints == 15 and len(schema.bones) == 14
    names = {(schema.joints[a], schema.joints[b]) for a, b in schema.mirror_pairs}
    assert ("left_front_paw", "right_front_paw") in names and ("left_ear", "right_ear") in names
    assert len(schema.groups["legs"]) == 8


def test_dataset_built_in_one_folder_trains_from_another(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    project = tmp_path / "u4"
    (project / "recordings").mkdir(parents=True)
    (project / "quadruped15.yaml").write_text(documented_schema())
    rng = np.random.default_rng(0)
    for name in ("dog1", "dog2"):
        keypoints = rng.normal(size=(40, 15, 2)).astype(np.float32)
        recording = Recording(keypoints, np.ones(40, bool), 10.0, np.arange(40), "../quadruped15.yaml", name)
        np.savez(
            project / "recordings" / f"{name}.npz",
            keypoints=keypoints,
            present=recording.present,
            fps=np.float64(10.0),
            frame_index=recording.frame_index,
            schema=np.asarray("../quadruped15.yaml"),
        )
    (project / "segments.csv").write_text("video,start,end,label\ndog1,0,4,sit\ndog2,0,4,run\n")

    monkeypatch.chdir(tmp_path)  # neither the recordings' nor the dataset's folder
    recording = load_recording("u4/recordings/dog1.npz")
    assert Path(recording.schema) == (project / "quadruped15.yaml").resolve()
    dataset = windows_from_segments("u4/recordings", "u4/segments.csv", 10, 10, "seconds", 0.5, None)
    dataset.to_npz("u4/windows.npz")

    monkeypatch.chdir(project / "recordings")  # and read back from yet another folder
    loaded = load_dataset("../windows.npz")
    assert get_schema(loaded.schema).n_joints == 15
    with np.load(project / "windows.npz") as stored:
        assert str(stored["schema"]) == "quadruped15.yaml"  # stored relative to windows.npz

    save_recording(project / "copies" / "dog1.npz", recording)
    assert load_recording(project / "copies" / "dog1.npz").schema == recording.schema
