"""Every clip family trains from scratch on generated clips; temporal models read motion that a
single-frame baseline cannot."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from actrec.data.clips import load_clips
from actrec.evaluation.metrics import compute_metrics
from actrec.recognizers.clip import VideoRecognizer
from tests.helpers.clip_data import NEEDS_OPENCV, TINY, TINY_CLIP, TINY_TRAINING

pytest.importorskip("cv2", reason=NEEDS_OPENCV)


def held_out_top1(
    data: Path, model: str, options: dict, clip: dict | None = None, training: dict | None = None
) -> float:
    """Top-1 on a fixed quarter of the clips after training on the rest."""
    clips = load_clips(data)
    order = np.random.default_rng(0).permutation(clips.n_samples)
    quarter = clips.n_samples // 4
    train, test = clips.subset(np.sort(order[quarter:])), clips.subset(np.sort(order[:quarter]))
    recognizer = VideoRecognizer(
        model, model_options=options, clip=TINY_CLIP | (clip or {}), **(TINY_TRAINING | (training or {}))
    )
    recognizer.fit(train)
    return compute_metrics(test.y, recognizer.predict_proba(test), recognizer.label_names)["top1"]


def test_tsn_learns_what_one_frame_shows(shape_clips: Path) -> None:
    """TSN averages per-frame scores: on clips whose class is the object's shape it beats chance
    (0.5) on held-out clips like any family on motion."""
    assert held_out_top1(shape_clips, "tsn", TINY) >= 0.8


@pytest.mark.parametrize("frames", [1, 8], ids=["single-frame", "tsn-8-segments"])
def test_appearance_models_cannot_tell_motions(motion_clips: Path, frames: int) -> None:
    """No single frame tells a motion: the single-frame baseline and TSN, whose consensus is an
    average of per-frame scores, stay near chance (0.5) where the temporal models reach 0.8."""
    assert held_out_top1(motion_clips, "tsn", TINY, clip={"frames": frames}) < 0.75


@pytest.mark.parametrize(
    ("model", "options", "clip", "training"),
    [
        # TSM's default TSN-style segments jitter the gap between frames; at this size the
        # evenly spaced (dense) frames it is also used with learn faster
        # now that `seed` also fixes the initial weights: 10 epochs held out 0.67 / 0.60 (TSM) and
        # 0.67 / 0.70 (R3D) for seeds 0 / 1 but 0.77-0.90 for seeds 2-4; 20 epochs gave 1.0 / 1.0
        # and 0.93 / 0.90 for seeds 0 / 1
        ("tsm", TINY | {"width": 16, "shift_div": 4}, {"sampling": "dense"}, {"epochs": 20, "patience": 20}),
        ("r3d", TINY, {}, {"epochs": 20, "patience": 20}),
        ("r3d", TINY | {"conv": "r2plus1d"}, {}, {}),
        ("slowfast", TINY | {"beta_inv": 4, "alpha": 2}, {}, {}),
        # X3D at width 8 held out 0.57 / 0.43 (20 epochs at 2e-3) and 0.57 / 0.90 (20 at 5e-3) for
        # seeds 0 / 1; width 16 gave 0.97 / 1.0 at 20 epochs of 2e-3
        (
            "x3d",
            {"width": 16, "depths": [1, 1, 1, 1], "head_width": 64, "dropout": 0.0},
            {},
            {"epochs": 20, "patience": 20},
        ),
        # the default (`auto`: TSM width 16 on frame differences), at the tiny clip size
        ("auto", {}, {}, {}),
    ],
    ids=["tsm", "r3d", "r2plus1d", "slowfast", "x3d", "auto"],
)
def test_temporal_models_learn_motion(
    motion_clips: Path, model: str, options: dict, clip: dict, training: dict
) -> None:
    """Well above chance (0.5) and above what the single-frame baseline can reach (< 0.75).

    Trained in a fresh process: in the full suite, state other tests leave in this one changed the
    tiny X3D's numerics enough to hold out 0.43 instead of 0.97 (passing alone, in its file, with
    one thread or two), as the clip resume tests found for their log-loss."""
    args = json.dumps([str(motion_clips), model, options, clip, training])
    code = (
        "import json, sys; from tests.recognizers.test_clip_training import held_out_top1; "
        "print(held_out_top1(*[__import__('pathlib').Path(a) if i == 0 else a for i, a in enumerate(json.loads(sys.argv[1]))]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, args], capture_output=True, text=True, cwd=Path(__file__).resolve().parents[2]
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert float(done.stdout.strip().splitlines()[-1]) >= 0.8
