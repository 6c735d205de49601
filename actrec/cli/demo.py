"""The main job on actrec's embedded dataset: generate recordings -> windows -> train -> evaluate.

It shows the keypoint path end to end with no download: synthetic coco17 skeletons (stand, walk,
sit, fall, wave) with varied bodies, speeds, camera angles, noise and missed detections.
"""

from __future__ import annotations

from pathlib import Path

from actrec.data.segments import windows_from_segments
from actrec.data.synthetic import write_synthetic
from actrec.recognizers import TrainConfig
from actrec.runs.life_cycle import RunResult
from actrec.runs.sequences import train_run


def run_demo(
    out: str | Path,
    recordings: int = 24,
    window: int = 30,
    stride: int = 15,
    epochs: int = 10,
    seed: int = 0,
    progress: bool = True,
) -> RunResult | None:
    """Write `out/data` (recordings, segments.csv, windows.npz) and train the default model into `out/run`.

    Windows are grouped by recording, so no recording is in two splits.
    """
    out = Path(out)
    data_dir = write_synthetic(out / "data", n_recordings=recordings, seed=seed)
    dataset = windows_from_segments(data_dir / "recordings", data_dir / "segments.csv", window=window, stride=stride)
    dataset.to_npz(str(data_dir / "windows.npz"))
    config = TrainConfig(epochs=epochs, seed=seed, augment=["mirror"])
    return train_run(dataset, out / "run", config, progress=progress)
