"""How a clip recognizer's network is fitted: `train_network` runs the shared loop
(`training/fit.py`: checkpoints, resume and stops as for sequence models); `fit_fused` is two-stream
fusion of clip motions (`clip.motion` such as `none+flow`): one network per motion, each fitted
alone by its own `VideoRecognizer` on the same clips, split and seed, then held by one
`ClipFusion` whose weights come from the members' validation log-loss (`training/averaging.py`,
as skeleton modalities are weighted)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, cast

import torch

from actrec.data.clip_motion import motion_members
from actrec.data.clips import ClipList
from actrec.evaluation.model_summary import FUSED_NAMES
from actrec.models.video.fusion import ClipFusion
from actrec.recognizers.clip_sizing import clips_digest
from actrec.training.averaging import inverse_loss_average, validation_probas, weights_text

if TYPE_CHECKING:
    from actrec.recognizers.clip import VideoRecognizer


def fit_fused(
    recognizer: VideoRecognizer, train: ClipList, validation: ClipList, work_dir: str | Path | None, progress: bool
) -> None:
    """Two-stream fusion: one network per motion of `none+flow` (or any `+`-joined motions),
    each trained alone on the same clips, split and seed, their probabilities averaged with
    weights inversely proportional to validation log-loss (as skeleton modalities are)."""
    members = []
    motions = motion_members(recognizer.clip_config.motion)
    for motion in motions:
        # the clip options as fixed here (size, sampling), the frames cached here
        clip = asdict(recognizer.clip_config) | {"motion": motion, "cache": str(recognizer.frame_cache().folder)}
        member = type(recognizer)(**(asdict(recognizer.config) | {"clip": clip}))
        member_dir = None if work_dir is None else Path(work_dir) / motion
        members.append(member.fit(train, validation=validation, work_dir=member_dir, progress=progress))
    fused = cast(ClipFusion, recognizer._build_network())
    for slot, member in zip(fused.members, members):
        assert member.network is not None
        slot.load_state_dict(member.network.state_dict())
    n_classes = len(recognizer.label_names)
    averaged = inverse_loss_average(validation_probas(members, validation, n_classes), validation.labels, n_classes)
    fused.weights.copy_(torch.as_tensor(averaged.weights, dtype=torch.float32))
    recognizer.network = fused.eval()
    recognizer.history = members[0].history
    recognizer.init_report = members[0].init_report
    names = [FUSED_NAMES[motion] for motion in motions]
    recognizer.notes = [
        *recognizer.notes,
        f"motion {recognizer.clip_config.motion}: one {recognizer.config.model} per motion, fused with weights "
        + weights_text(names, averaged),
    ]


def train_network(
    recognizer: VideoRecognizer,
    network: torch.nn.Module,
    train: ClipList,
    validation: ClipList,
    work_dir: str | Path | None,
    progress: bool,
    resume_from: str | Path | None,
) -> None:
    """Fit by the shared loop (`actrec.training.fit.fit_loop`): checkpoints, resume and stops
    work as for sequence models."""
    from actrec.training.data import StackedDataModule  # Lightning, imported when a fit starts
    from actrec.training.fit import fit_loop

    train_set = recognizer.clip_dataset(train, train=True)
    validation_set = recognizer.clip_dataset(validation, train=False, test_clips=1, test_crops=1)
    data = StackedDataModule(
        train_set, validation_set, recognizer.config.batch_size, recognizer.config.seed, recognizer.clip_config.workers
    )
    # what a checkpoint must share with the run resuming it: the settings (with the crop size
    # fixed; not where frames are cached, how many processes decode them nor what to do with
    # a bad video, none of which changes what is learnt) and the clips
    settings = recognizer.metadata()["config"]
    settings["clip"] = {k: v for k, v in settings["clip"].items() if k not in ("workers", "on_bad_video")}
    run = {
        "config": settings,
        "label_names": recognizer.label_names,
        "n_train": train.n_samples,
        "train_clips": clips_digest(train),
    }
    checkpoint_dir = None if work_dir is None else Path(work_dir) / "checkpoints"
    fitted_loop = fit_loop(
        network,
        recognizer.config,
        data,
        train.labels,
        len(recognizer.label_names),
        run,
        checkpoint_dir,
        resume_from,
        progress,
    )
    recognizer.history = fitted_loop.history
    if fitted_loop.cut_by_time_budget:
        recognizer.notes = [
            *recognizer.notes,
            f"--time-budget stopped training after {len(fitted_loop.history)} of {recognizer.config.epochs} epochs; "
            "a run cut by the clock is not reproducible (drop the budget, or lower --epochs)",
        ]
