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
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
import torch

from actrec import __version__
from actrec.config import TrainingOptions, option
from actrec.data.clips import ClipList
from actrec.data.splits import plan_splits
from actrec.errors import ConfigError, DataError, ModelFileError
from actrec.io import model_file as io_model_file
from actrec.io.clips import FrameCache
from actrec.models.video import VIDEO_MODELS, build_video_model, make_video_config
from actrec.models.video.motion import motion_members
from actrec.models.video.resnet import from_mmaction2, is_mmaction2_layout
from actrec.recognizers.base import KINDS, BaseRecognizer, fitted
from actrec.video.prepare import CachedFrames, prepare_clips
from actrec.video.sampling import ClipConfig, ClipDataset, flip_table
from actrec.video.sizing import first_video, plan_for_clips

AUTO = "auto"
# what `describe` says of a motion input (fused ones are named by their members)
MOTION_WORDS = {
    "none": "",
    "diff": ", differences of consecutive frames",
    "flow": ", dense optical flow pictures (OpenCV DIS, computed before the network)",
}
FUSED_NAMES = {"none": "RGB", "diff": "frame differences", "flow": "optical flow"}


@dataclass
class VideoTrainConfig(TrainingOptions):
    """Everything `fit` needs besides the clips: the options every training shares
    (`actrec.config.TrainingOptions`, some with other defaults here) and the clips' own; saved
    with the model and in RUN/config.json.

    model: a registered clip model, or `auto` (`video/sizing.py`: a network, size, frames and
    motion input chosen from the number of clips when they are first prepared; options given
    here win over its choices). model_options: the network's options (depth, width, ...); clip:
    `ClipConfig` fields (frames, size, sampling, motion, augmentation, cache). init: a
    torchvision-named state dict (.safetensors, or .pt/.pth read with weights_only) to start
    from; tensors whose shapes differ are skipped. Clip runs train in one process (`devices` and
    `num_nodes` 1).
    """

    model: str = option(AUTO, "auto, tsn, tsm, r3d, slowfast, x3d", member=False)
    batch_size: int = option(8, "clips per gradient step")
    patience: int = option(10, "early-stopping patience in epochs")
    class_weight: str | None = option("balanced", "balanced | none: loss weights by inverse class frequency")
    clip: dict[str, Any] = option({}, "clip options: frames, size, sampling, motion, augmentation, cache")
    init: str | None = option(None, "a torchvision-named state dict to start from (.safetensors, .pt, .pth)")

    def clip_config(self) -> ClipConfig:
        known = ClipConfig.field_names()
        unknown = sorted(set(self.clip) - known)
        if unknown:
            raise ConfigError(f"unknown clip option '{unknown[0]}'; clip options are: {', '.join(sorted(known))}")
        config = ClipConfig(**self.clip)
        if not config.sampling and self.model != AUTO:
            config.sampling = VIDEO_MODELS[self.model][2].sampling
        return config

    def check(self) -> None:
        super().check()
        if self.model != AUTO:
            make_video_config(self.model, self.model_options)
        self.clip_config().check()
        if self.devices != 1 or self.num_nodes != 1:
            raise ConfigError(
                f"clip models train in one process; drop devices={self.devices} / num_nodes={self.num_nodes}"
            )


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
            self._choose_for(clips)
        clip = self.clip_config
        if not clip.size:
            clip.size = _automatic_size(clips)
        return prepare_clips(
            clips, self.frame_cache(), clip.frames, on_bad_video or clip.on_bad_video, clip.workers, clip.sources
        )

    def _choose_for(self, clips: ClipList) -> None:
        """Replace `auto` by the plan for `clips`; the options given keep their values."""
        plan = plan_for_clips(clips.n_samples, first_video(clips))
        given_network, given_clip = self.config.model_options, self.config.clip
        self.config_ = replace(
            self.config, model=plan.model, model_options=plan.model_options | given_network, clip=plan.clip | given_clip
        )
        self.config_.check()
        self.clip_config_ = self.config_.clip_config()
        overridden = {**{k: v for k, v in given_clip.items() if k in plan.clip}, **given_network}
        kept = (
            f"; kept the options given ({', '.join(f'{k}={v}' for k, v in sorted(overridden.items()))})"
            if overridden
            else ""
        )
        self.notes = [*self.notes, plan.note + kept]

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
        self.sample_rate_hz = _median_fps(clips.paths[:5])
        if len(motion_members(clip.motion)) > 1:
            if resume_from is not None:
                raise ConfigError(
                    f"motion {clip.motion}: a fused model cannot resume (each motion's network trains in turn); train it again"
                )
            self._fit_fused(clips, validation, work_dir, progress)
            return
        import lightning as L

        # seeded before the network is built, so `seed` fixes its initial weights too (torch
        # draws a random default seed per process)
        L.seed_everything(self.config.seed, workers=True, verbose=False)
        network = self._build_network()
        if self.config.init:
            self.init_report = load_init(network, self.config.init)
        self._train(network, clips, validation, work_dir, progress, resume_from)
        self.network = network

    def _build_network(self) -> torch.nn.Module:
        clip = self.clip_config
        return build_video_model(
            self.config.model, len(self.label_names), clip.frames, self.config.model_options, clip.motion
        )

    def _fit_fused(self, train: ClipList, validation: ClipList, work_dir: str | Path | None, progress: bool) -> None:
        """Two-stream fusion: one network per motion of `none+flow` (or any `+`-joined motions),
        each trained alone on the same clips, split and seed, their probabilities averaged with
        weights inversely proportional to validation log-loss (as skeleton modalities are)."""
        from actrec.models.video.fusion import ClipFusion
        from actrec.training.averaging import inverse_loss_average, validation_probas, weights_text

        members = []
        motions = motion_members(self.clip_config.motion)
        for motion in motions:
            # the clip options as fixed here (size, sampling), the frames cached here
            clip = asdict(self.clip_config) | {"motion": motion, "cache": str(self.frame_cache().folder)}
            member = VideoRecognizer(**(asdict(self.config) | {"clip": clip}))
            member_dir = None if work_dir is None else Path(work_dir) / motion
            members.append(member.fit(train, validation=validation, work_dir=member_dir, progress=progress))
        fused = cast(ClipFusion, self._build_network())
        for slot, member in zip(fused.members, members):
            assert member.network is not None
            slot.load_state_dict(member.network.state_dict())
        n_classes = len(self.label_names)
        averaged = inverse_loss_average(validation_probas(members, validation, n_classes), validation.labels, n_classes)
        fused.weights.copy_(torch.as_tensor(averaged.weights, dtype=torch.float32))
        self.network = fused.eval()
        self.history = members[0].history
        self.init_report = members[0].init_report
        names = [FUSED_NAMES[motion] for motion in motions]
        self.notes = [
            *self.notes,
            f"motion {self.clip_config.motion}: one {self.config.model} per motion, fused with weights "
            + weights_text(names, averaged),
        ]

    def _train(
        self,
        network: torch.nn.Module,
        train: ClipList,
        validation: ClipList,
        work_dir: str | Path | None,
        progress: bool,
        resume_from: str | Path | None,
    ) -> None:
        """Fit by the shared loop (`actrec.training.fit.fit_loop`): checkpoints, resume and stops
        work as for sequence models."""
        from actrec.training.data import StackedDataModule
        from actrec.training.fit import fit_loop

        train_set = self.clip_dataset(train, train=True)
        validation_set = self.clip_dataset(validation, train=False, test_clips=1, test_crops=1)
        data = StackedDataModule(
            train_set, validation_set, self.config.batch_size, self.config.seed, self.clip_config.workers
        )
        # what a checkpoint must share with the run resuming it: the settings (with the crop size
        # fixed; not where frames are cached, how many processes decode them nor what to do with
        # a bad video, none of which changes what is learnt) and the clips
        settings = self._metadata()["config"]
        settings["clip"] = {k: v for k, v in settings["clip"].items() if k not in ("workers", "on_bad_video")}
        run = {
            "config": settings,
            "label_names": self.label_names,
            "n_train": train.n_samples,
            "train_clips": clips_digest(train),
        }
        checkpoint_dir = None if work_dir is None else Path(work_dir) / "checkpoints"
        fitted_loop = fit_loop(
            network, self.config, data, train.labels, len(self.label_names), run, checkpoint_dir, resume_from, progress
        )
        self.history = fitted_loop.history
        if fitted_loop.cut_by_time_budget:
            self.notes = [
                *self.notes,
                f"--time-budget stopped training after {len(fitted_loop.history)} of {self.config.epochs} epochs; "
                "a run cut by the clock is not reproducible (drop the budget, or lower --epochs)",
            ]

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
        clip = self.clip_config
        rate = f" at {self.sample_rate_hz:g} fps" if self.sample_rate_hz else ""
        spacing = f", stride {clip.stride}" if clip.sampling == "dense" else ""
        return {
            "model": self.config.model,
            "kind": self.kind,
            "window": f"{self.window_frames} video frames{rate}",
            "input": "RGB video, any size",
            "features": f"{clip.frames} frames ({clip.sampling} sampling{spacing}), short side {clip.stored_side} px, "
            f"centre {clip.size}x{clip.size} crop, ImageNet mean/std"
            + MOTION_WORDS.get(
                clip.motion, f", fused networks on {' + '.join(FUSED_NAMES[m] for m in motion_members(clip.motion))}"
            ),
        }

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


def clips_digest(clips: ClipList) -> str:
    """A short fingerprint of which clips (folder/file, span, label) a fit trains on, for a
    checkpoint to tell its clips from others; a moved dataset folder keeps it."""
    import hashlib

    assert clips.y is not None
    rows = [f"{path.parent.name}/{path.name} {clips.span(i)} {clips.y[i]}" for i, path in enumerate(clips.paths)]
    return hashlib.sha256("\n".join(rows).encode()).hexdigest()[:12]


def load_recognizer(path: str | Path) -> Any:
    """The one loader of model files: the recognizer of the kind the file's (or RUN folder's)
    metadata names (`KINDS`: `Recognizer`, `VideoRecognizer`)."""
    import actrec.recognizers  # noqa: F401  (defines the sequence kind)

    file = io_model_file.model_path(Path(path))
    kind = io_model_file.model_kind(io_model_file.read_model_file(file, with_tensors=False)[0])
    if kind not in KINDS:
        raise ModelFileError(
            f"{file}: a model of kind '{kind}', which actrec {__version__} does not know (it reads "
            f"{', '.join(sorted(KINDS))}); load it with the actrec version that saved it"
        )
    return KINDS[kind].load(path)


def load_init(network: torch.nn.Module, path: str | Path) -> str:
    """Copy a torchvision-named state dict into `network` where names and shapes match.

    `.safetensors` is read with safetensors, anything else with `torch.load(weights_only=True)`
    (a `state_dict` entry and `module.` prefixes are unwrapped). mmaction2's layout (`backbone.`,
    `cls_head.fc_cls.`, ConvModule's `.conv`/`.bn`) is renamed to torchvision's first. A 2D ResNet
    checkpoint given to an inflated 3D ResNet is inflated I3D-style. Returns a one-line summary; ConfigError if
    nothing matches.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"--init {path}: file not found")
    state: Any  # a state dict, or whatever the file holds (checked below)
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001  foreign pickles, truncated files
        raise ConfigError(
            f"--init {path}: not a weights-only state dict ({type(error).__name__}); save it with torch.save(model.state_dict()) or safetensors"
        ) from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise ConfigError(f"--init {path}: holds no state dict (name -> tensor mapping)")
    state = {k.removeprefix("module."): v for k, v in state.items() if isinstance(v, torch.Tensor)}
    if is_mmaction2_layout(state):
        state = from_mmaction2(state)
    target = network.state_dict()
    if "stem.0.weight" in target and "conv1.weight" in state and state["conv1.weight"].dim() in (4, 5):
        from actrec.models.video.r3d import inflate_resnet2d

        state = inflate_resnet2d(state, target)
    matched = {k: v for k, v in state.items() if k in target and target[k].shape == v.shape}
    if not matched:
        raise ConfigError(f"--init {path}: none of its {len(state)} tensors matches this network's names and shapes")
    network.load_state_dict(matched, strict=False)
    skipped = sorted(k for k in target if k not in matched and not k.endswith("num_batches_tracked"))
    more = (
        f"; kept initial values for {len(skipped)} ({', '.join(skipped[:3])}{', ...' if len(skipped) > 3 else ''})"
        if skipped
        else ""
    )
    return f"--init {path}: loaded {len(matched)} tensors{more}"


def _automatic_size(clips: ClipList, largest: int = 112) -> int:
    """`largest`, or the short side of the first readable video when that is smaller."""
    video = first_video(clips)
    return largest if video is None else max(8, min(largest, video.short_side))


def _median_fps(paths: list[Path]) -> float:
    from actrec.io.video import video_info

    rates = []
    for path in paths:
        try:
            rates.append(video_info(path).fps)
        except DataError:
            continue
    rates = [rate for rate in rates if rate > 0]
    return float(np.median(rates)) if rates else 25.0
