"""`VideoRecognizer`: fit / predict_proba / save / load for clip models, like `Recognizer`.

Input is a `ClipList` (video files and labels). Videos are decoded once into a frame cache, bad
ones are reported by name (and skipped or stopped on), and the shared LightningModule, callbacks
and metrics run the training. The saved model is one safetensors file whose JSON header holds
the config and label names (`kind: video`, written by `io/model_file.py` as for every kind), so
`load_recognizer` can tell it from a sequence model and nothing is ever unpickled.
"""

from __future__ import annotations

import copy
import tempfile
import warnings
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from actrec.data.clip_motion import motion_members
from actrec.data.clip_prepare import CachedFrames, prepare_clips
from actrec.data.clip_sampling import ClipConfig, ClipDataset, flip_table
from actrec.data.clips import ClipList
from actrec.data.splits import plan_splits
from actrec.errors import ConfigError, DataError
from actrec.io.clips import FrameCache
from actrec.models.video import build_video_model
from actrec.models.video.pretrained import load_init
from actrec.recognizers.base import BaseRecognizer, fitted
from actrec.recognizers.clip_config import AUTO, VideoTrainConfig
from actrec.recognizers.clip_sizing import automatic_size, median_fps, plan_config
from actrec.recognizers.clip_training import fit_fused, train_network


class VideoRecognizer(BaseRecognizer):
    """Clip classifier: `VideoRecognizer(model="tsm", epochs=20, clip={"size": 64}).fit(clips)`.

    Keyword arguments are the fields of `VideoTrainConfig`, stored as given (`fit` checks them).
    After `fit` or `load`: `network_` (eval mode), `label_names_`, `clip_config_` (the ClipConfig
    fitted with: crop size fixed), `window_frames_` (frames of video one prediction looks at),
    `sample_rate_hz_`, `history_`, `bad_videos_` (messages of skipped files), `init_report_`,
    each also without the `_`.
    """

    kind = "video"
    input_medium = "video"  # what one prediction reads: RGB video files, cut into clips (see Recognizer)
    input_types = (ClipList,)
    input_help = "read a clip folder or CSV with actrec.data.clips.load_clips"
    config_class = VideoTrainConfig
    # a clip model has no frame layout, features or skeleton: what serve's model list shows for them
    frame_shape: tuple[int, ...] = ()
    feature_names = None
    schema = None
    schema_definition = None

    # fitted state (class defaults: "not fitted yet")
    clip_config_: ClipConfig | None = None
    window_frames_ = 0
    sample_rate_hz_: float | None = None
    history_ = pd.DataFrame()
    bad_videos_: list[str] = []  # noqa: RUF012  replaced, never changed in place
    init_report_ = ""
    window_frames = fitted("window_frames")
    sample_rate_hz = fitted("sample_rate_hz")
    bad_videos = fitted("bad_videos")
    init_report = fitted("init_report")
    _configured_from: dict[str, Any] | None = None
    _scratch: tempfile.TemporaryDirectory | None = None

    def _configure(self) -> None:
        """Check the options into `config_` and `clip_config_`, unless they are unchanged since
        the last time: what `prepare` resolved (`model="auto"`, the crop size) is kept for `fit`."""
        params = copy.deepcopy(self.get_params(deep=False))
        if self.config_ is None or params != self._configured_from:
            super()._configure()
            self.clip_config_ = self.config_.clip_config()
            self._configured_from = params

    @property
    def clip_config(self) -> ClipConfig:
        """The clip options (`ClipConfig`): as fitted, or as given when not fitted yet."""
        if self.clip_config_ is None:
            self._configure()
        assert self.clip_config_ is not None
        return self.clip_config_

    @property
    def window_length(self) -> int:
        """Frames of video one prediction looks at (`window_frames`), under the name every recognizer has."""
        return self.window_frames

    # ------------------------------------------------------------------ frames
    def frame_cache(self) -> FrameCache:
        """The cache of decoded frames: `clip.cache` if given, else a folder removed with this object."""
        clip = self.clip_config
        if clip.cache:
            return FrameCache(clip.cache, clip.stored_side)
        if self._scratch is None:
            self._scratch = tempfile.TemporaryDirectory(prefix="actrec-frames-")
        return FrameCache(self._scratch.name, clip.stored_side)

    def prepare(self, clips: ClipList, on_bad_video: str | None = None) -> tuple[ClipList, list[str]]:
        """Decode `clips` into the cache; (usable clips, one line per bad video). The first call
        resolves `model="auto"` from these clips (the note saying why goes to `notes`) and fixes
        an automatic crop size (`size=0`) from the first readable video."""
        self._configure()
        if self.config.model == AUTO:
            self.config_, note = plan_config(self.config, clips)
            self.clip_config_ = self.config_.clip_config()
            self.notes = [*self.notes, note]
        clip = self.clip_config
        if not clip.size:
            clip.size = automatic_size(clips)
        return prepare_clips(
            clips, self.frame_cache(), clip.frames, on_bad_video or clip.on_bad_video, clip.workers, clip.sources
        )

    def clip_dataset(
        self, clips: ClipList, train: bool, test_clips: int | None = None, test_crops: int | None = None
    ) -> ClipDataset:
        """Clips of prepared `clips` as the network takes them: augmented (`train`) or test-time
        views (`test_clips` / `test_crops` override the saved ones)."""
        overrides = {k: v for k, v in (("test_clips", test_clips), ("test_crops", test_crops)) if v is not None}
        config = ClipConfig(**(asdict(self.clip_config) | overrides)) if overrides else self.clip_config
        config.check()
        flips = flip_table(self.label_names, config.flip_pairs) if config.flip else None
        return ClipDataset(
            CachedFrames(self.frame_cache(), clips, config.sources),
            clips.n_samples,
            clips.y,
            config,
            config.sampling,
            train,
            self.config.seed,
            flips,
        )

    # ------------------------------------------------------------------ fit (the door is BaseRecognizer.fit)
    def _training_data(self, X: ClipList, y: Any, groups: Any, lengths: Any, label_names: Any) -> ClipList:
        given = [
            name
            for name, value in (("y", y), ("groups", groups), ("lengths", lengths), ("label_names", label_names))
            if value is not None
        ]
        if given:
            raise ConfigError(f"a ClipList carries its own labels and groups; drop {', '.join(given)}")
        if X.y is None:
            raise DataError(f"{X.source}: has no labels; put each video in a folder named after its class")
        return X

    def _check_training_data(self, data: ClipList) -> None:
        self.clip_config.check(list(data.label_names))

    def _fit(
        self,
        clips: ClipList,
        validation: ClipList | None,
        work_dir: str | Path | None,
        progress: bool,
        resume_from: str | Path | None,
    ) -> None:
        """Train on labelled clips; a stratified, group-aware `val_fraction` picks the best epoch
        unless `validation` is given. Bad videos are skipped (listed in `bad_videos`) or stop.

        With `work_dir`, a checkpoint per epoch goes to `work_dir/checkpoints` (kept if the fit is
        stopped); `resume_from` (one of them) continues that fit to the weights a straight one
        reaches, and is refused in one line if it was trained with other settings or clips."""
        self.label_names = list(clips.label_names)
        clips, self.bad_videos = self.prepare(clips)
        for line in self.bad_videos:
            warnings.warn(line, stacklevel=3)
        if validation is None:
            clips, validation, _ = plan_splits(clips, self.config.seed, self.config.val_fraction).parts(clips)
        else:
            validation, more = self.prepare(validation)
            self.bad_videos = [*self.bad_videos, *more]
        clip = self.clip_config
        cache = self.frame_cache()
        lengths = [len(cache.frames(path, clips.span(i))) for i, path in enumerate(clips.paths)]
        self.window_frames = (
            int(np.median(lengths)) if clip.sampling == "segments" else (clip.frames - 1) * clip.stride + 1
        )
        self.sample_rate_hz = median_fps(clips.paths[:5])
        if len(motion_members(clip.motion)) > 1:
            if resume_from is not None:
                raise ConfigError(
                    f"motion {clip.motion}: a fused model cannot resume (each motion's network trains in turn); train it again"
                )
            fit_fused(self, clips, validation, work_dir, progress)
            return
        import lightning as L

        # seeded before the network is built, so `seed` fixes its initial weights too (torch
        # draws a random default seed per process)
        L.seed_everything(self.config.seed, workers=True, verbose=False)
        network = self._build_network()
        if self.config.init:
            self.init_report = load_init(network, self.config.init)
        train_network(self, network, clips, validation, work_dir, progress, resume_from)
        self.network = network

    def _build_network(self) -> torch.nn.Module:
        clip = self.clip_config
        return build_video_model(
            self.config.model, len(self.label_names), clip.frames, self.config.model_options, clip.motion
        )

    # ------------------------------------------------------------------ predict (the door is BaseRecognizer's)
    def _prediction_data(self, X: ClipList, lengths: Any) -> ClipList:
        if lengths is not None:
            raise ConfigError("lengths apply to arrays of sequences; a ClipList's videos have their own")
        return self.prepare(X, on_bad_video="stop")[0]

    def _predict_proba(self, data: ClipList, batch_size: int | None, **views: Any) -> np.ndarray:
        """Probabilities float32 `[N, C]`, averaged over `test_clips` x `test_crops` views per
        video (`views`; default: the saved clip options); a bad video raises."""
        dataset = self.clip_dataset(data, train=False, **views)
        size = batch_size or self.config.batch_size
        out = []
        for start in range(0, len(dataset), size):
            batch = torch.stack([dataset[i][0] for i in range(start, min(len(dataset), start + size))])
            out.append(self.proba_from_clips(batch))
        return np.concatenate(out)

    def proba_from_clips(self, batch: torch.Tensor) -> np.ndarray:
        """`[B, 3, T, S, S]` or views `[B, V, 3, T, S, S]` normalised clips -> `[B, C]` float32."""
        assert self.network is not None
        with torch.inference_mode():
            if batch.dim() == 6:
                views = batch.shape[1]
                proba = torch.softmax(self.network(batch.flatten(0, 1)), 1).reshape(batch.shape[0], views, -1).mean(1)
            else:
                proba = torch.softmax(self.network(batch), 1)
        return proba.numpy().astype(np.float32)

    # ------------------------------------------------------------------ consumers' door
    # what eval, predict and serve call on any recognizer (the sequence Recognizer has the same)
    def prediction_options(self, test_clips: int | None = None, test_crops: int | None = None) -> dict[str, Any]:
        """`predict_proba`'s keyword arguments: the views per video given (None: as saved)."""
        return {k: v for k, v in (("test_clips", test_clips), ("test_crops", test_crops)) if v is not None}

    def read_data(self, data: Any, layout: Any = None) -> tuple[ClipList, list[str]]:
        """(the usable clips of a clip folder or CSV in this model's label order, one line per bad
        video skipped). `data`: one spec, or a list of one (`--data`); `layout` (the sequence
        files' layout flags) does not apply to clips."""
        from actrec.data.clips import load_clips

        if isinstance(data, (list, tuple)):
            if len(data) != 1:
                raise ConfigError(f"--data given {len(data)} times; a clip model reads one clip folder or CSV")
            data = data[0]
        return self.prepare(load_clips(data, label_names=self.label_names))

    def predict_data(
        self, data: str | Path, options: Any, on_note: Any = None
    ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """(ids, probabilities, {}) of one clip folder or CSV; `options`: `jobs.predict_files.ReadOptions`
        (its views per video; window, stride and label_last are for sequence files and refused)."""
        if options.window is not None or options.stride is not None or options.label_last:
            raise ConfigError(
                "--window, --stride and --label-last apply to sequence data; a clip model reads a clip folder or CSV"
            )
        clips, bad = self.read_data(data)
        for line in bad:
            if on_note is not None:
                on_note(line)
        proba = self.predict_proba(clips, test_clips=options.test_clips, test_crops=options.test_crops)
        return np.asarray(clips.ids, dtype=object), proba, {}

    # ------------------------------------------------------------------ save / load (the door is BaseRecognizer's)
    def describe(self) -> dict[str, str]:
        """What the model is and takes, one short line each, for a person (`actrec info`)."""
        from actrec.evaluation.model_summary import clip_model_summary

        return clip_model_summary(
            self.config.model, self.kind, self.window_frames, self.sample_rate_hz, self.clip_config
        )

    def _metadata(self) -> dict[str, Any]:
        config = asdict(self.config)
        # a scratch path means nothing later
        config["clip"] = {k: v for k, v in asdict(self.clip_config).items() if k != "cache"}
        return {
            "config": config,
            "label_names": self.label_names,
            "window_frames": self.window_frames,
            "sample_rate_hz": self.sample_rate_hz,
        }

    @classmethod
    def _from_metadata(cls, meta: dict[str, Any]) -> VideoRecognizer:
        config = dict(meta["config"])
        config.pop("init", None)
        rec = cls(**config)
        rec._configure()
        rec.label_names = meta["label_names"]
        rec.window_frames = int(meta["window_frames"])
        rec.sample_rate_hz = meta["sample_rate_hz"]
        return rec

    def _network_for_file(self, tensors: dict[str, torch.Tensor], path: Path) -> torch.nn.Module:
        return self._build_network()
