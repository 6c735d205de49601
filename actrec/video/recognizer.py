"""`VideoRecognizer`: fit / predict_proba / save / load for clip models, like `Recognizer`.

Input is a `ClipList` (video files and labels). Videos are decoded once into a frame cache, bad
ones are reported by name (and skipped or stopped on), and the shared LightningModule, callbacks
and metrics run the training. The saved model is one safetensors file whose JSON header holds
the config and label names (`kind: video`, written by `io/model_file.py` as for every kind), so
`load_recognizer` can tell it from a sequence model and nothing is ever unpickled.
"""

from __future__ import annotations

import tempfile
import warnings
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
import torch

from actrec import __version__
from actrec.config import TrainingOptions, option
from actrec.data.clips import ClipList
from actrec.data.splits import plan_splits
from actrec.errors import ConfigError, DataError, ModelFileError, first_line
from actrec.io import model_file as io_model_file
from actrec.io.clips import FrameCache
from actrec.models.video import VIDEO_MODELS, build_video_model, make_video_config
from actrec.models.video.motion import motion_members
from actrec.models.video.resnet import from_mmaction2, is_mmaction2_layout
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


class VideoRecognizer:
    """Clip classifier: `VideoRecognizer(model="tsm", epochs=20, clip={"size": 64}).fit(clips)`.

    Keyword arguments are the fields of `VideoTrainConfig`. After `fit` or `load`: `network`
    (eval mode), `label_names`, `clip` (ClipConfig), `window_frames` (frames of video one
    prediction looks at), `sample_rate_hz`, `history`, `bad_videos` (messages of skipped files).
    """

    kind = "video"
    input_medium = "video"  # what one prediction reads: RGB video files, cut into clips (see Recognizer)
    # a clip model has no frame layout, features or skeleton: what serve's model list shows for them
    frame_shape: tuple[int, ...] = ()
    feature_names = None
    schema = None
    schema_definition = None

    def __init__(self, model: str = AUTO, **options: Any) -> None:
        known = {f.name for f in fields(VideoTrainConfig)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise ConfigError(f"VideoRecognizer has no option '{unknown[0]}'; options are: {', '.join(sorted(known))}")
        self.config = VideoTrainConfig(model=model, **options)
        self.config.check()
        self.clip = self.config.clip_config()
        self.network: torch.nn.Module | None = None
        self.label_names: list[str] = []
        self.window_frames = 0
        self.sample_rate_hz: float | None = None
        self.history = pd.DataFrame()
        self.bad_videos: list[str] = []
        self.init_report = ""
        self.notes: list[str] = []
        self._scratch: tempfile.TemporaryDirectory | None = None

    @property
    def model_name(self) -> str:
        return self.config.model

    @property
    def window_length(self) -> int:
        """Frames of video one prediction looks at (`window_frames`), under the name every recognizer has."""
        return self.window_frames

    # ------------------------------------------------------------------ frames
    def frame_cache(self) -> FrameCache:
        """The cache of decoded frames: `clip.cache` if given, else a folder removed with this object."""
        if self.clip.cache:
            return FrameCache(self.clip.cache, self.clip.stored_side)
        if self._scratch is None:
            self._scratch = tempfile.TemporaryDirectory(prefix="actrec-frames-")
        return FrameCache(self._scratch.name, self.clip.stored_side)

    def prepare(self, clips: ClipList, on_bad_video: str | None = None) -> tuple[ClipList, list[str]]:
        """Decode `clips` into the cache; (usable clips, one line per bad video). The first call
        resolves `model="auto"` from these clips (the note saying why goes to `notes`) and fixes
        an automatic crop size (`size=0`) from the first readable video."""
        if self.config.model == AUTO:
            self._choose_for(clips)
        if not self.clip.size:
            self.clip.size = _automatic_size(clips)
        return prepare_clips(
            clips,
            self.frame_cache(),
            self.clip.frames,
            on_bad_video or self.clip.on_bad_video,
            self.clip.workers,
            self.clip.sources,
        )

    def _choose_for(self, clips: ClipList) -> None:
        """Replace `auto` by the plan for `clips`; the options given keep their values."""
        plan = plan_for_clips(clips.n_samples, first_video(clips))
        given_network, given_clip = self.config.model_options, self.config.clip
        self.config = replace(
            self.config, model=plan.model, model_options=plan.model_options | given_network, clip=plan.clip | given_clip
        )
        self.config.check()
        self.clip = self.config.clip_config()
        overridden = {**{k: v for k, v in given_clip.items() if k in plan.clip}, **given_network}
        kept = (
            f"; kept the options given ({', '.join(f'{k}={v}' for k, v in sorted(overridden.items()))})"
            if overridden
            else ""
        )
        self.notes.append(plan.note + kept)

    def clip_dataset(
        self, clips: ClipList, train: bool, test_clips: int | None = None, test_crops: int | None = None
    ) -> ClipDataset:
        """Clips of prepared `clips` as the network takes them: augmented (`train`) or test-time
        views (`test_clips` / `test_crops` override the saved ones)."""
        overrides = {k: v for k, v in (("test_clips", test_clips), ("test_crops", test_crops)) if v is not None}
        config = ClipConfig(**(asdict(self.clip) | overrides)) if overrides else self.clip
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

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        clips: ClipList,
        validation: ClipList | None = None,
        work_dir: str | Path | None = None,
        progress: bool = False,
        resume_from: str | Path | None = None,
    ) -> VideoRecognizer:
        """Train on labelled clips; a stratified, group-aware `val_fraction` picks the best epoch
        unless `validation` is given. Bad videos are skipped (listed in `bad_videos`) or stop.

        With `work_dir`, a checkpoint per epoch goes to `work_dir/checkpoints` (kept if the fit is
        stopped); `resume_from` (one of them) continues that fit to the weights a straight one
        reaches, and is refused in one line if it was trained with other settings or clips."""
        if clips.y is None:
            raise DataError(f"{clips.source}: has no labels; put each video in a folder named after its class")
        self.label_names = list(clips.label_names)
        self.clip.check(self.label_names)
        clips, self.bad_videos = self.prepare(clips)
        for line in self.bad_videos:
            warnings.warn(line, stacklevel=2)
        if validation is None:
            clips, validation, _ = plan_splits(clips, self.config.seed, self.config.val_fraction).parts(clips)
        else:
            validation, more = self.prepare(validation)
            self.bad_videos += more
        cache = self.frame_cache()
        lengths = [len(cache.frames(path, clips.span(i))) for i, path in enumerate(clips.paths)]
        self.window_frames = (
            int(np.median(lengths))
            if self.clip.sampling == "segments"
            else (self.clip.frames - 1) * self.clip.stride + 1
        )
        self.sample_rate_hz = _median_fps(clips.paths[:5])
        if len(motion_members(self.clip.motion)) > 1:
            if resume_from is not None:
                raise ConfigError(
                    f"motion {self.clip.motion}: a fused model cannot resume (each motion's network trains in turn); train it again"
                )
            self._fit_fused(clips, validation, work_dir, progress)
            return self
        import lightning as L

        # seeded before the network is built, so `seed` fixes its initial weights too (torch
        # draws a random default seed per process)
        L.seed_everything(self.config.seed, workers=True, verbose=False)
        self.network = build_video_model(
            self.config.model, len(self.label_names), self.clip.frames, self.config.model_options, self.clip.motion
        )
        if self.config.init:
            self.init_report = load_init(self.network, self.config.init)
        self._train(clips, validation, work_dir, progress, resume_from)
        return self

    def _fit_fused(self, train: ClipList, validation: ClipList, work_dir: str | Path | None, progress: bool) -> None:
        """Two-stream fusion: one network per motion of `none+flow` (or any `+`-joined motions),
        each trained alone on the same clips, split and seed, their probabilities averaged with
        weights inversely proportional to validation log-loss (as skeleton modalities are)."""
        from actrec.models.video.fusion import ClipFusion
        from actrec.training.averaging import inverse_loss_average, validation_probas, weights_text

        members = []
        for motion in motion_members(self.clip.motion):
            # the clip options as fixed here (size, sampling), the frames cached here
            clip = asdict(self.clip) | {"motion": motion, "cache": str(self.frame_cache().folder)}
            member = VideoRecognizer(**(asdict(self.config) | {"clip": clip}))
            member_dir = None if work_dir is None else Path(work_dir) / motion
            members.append(member.fit(train, validation=validation, work_dir=member_dir, progress=progress))
        self.network = fused = cast(
            ClipFusion,
            build_video_model(
                self.config.model, len(self.label_names), self.clip.frames, self.config.model_options, self.clip.motion
            ),
        )
        for slot, member in zip(fused.members, members):
            assert member.network is not None
            slot.load_state_dict(member.network.state_dict())
        n_classes = len(self.label_names)
        averaged = inverse_loss_average(validation_probas(members, validation, n_classes), validation.labels, n_classes)
        fused.weights.copy_(torch.as_tensor(averaged.weights, dtype=torch.float32))
        fused.eval()
        self.history = members[0].history
        self.init_report = members[0].init_report
        names = [FUSED_NAMES[motion] for motion in motion_members(self.clip.motion)]
        self.notes.append(
            f"motion {self.clip.motion}: one {self.config.model} per motion, fused with weights "
            + weights_text(names, averaged)
        )

    def _train(
        self,
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

        assert self.network is not None
        train_set = self.clip_dataset(train, train=True)
        validation_set = self.clip_dataset(validation, train=False, test_clips=1, test_crops=1)
        data = StackedDataModule(train_set, validation_set, self.config.batch_size, self.config.seed, self.clip.workers)
        # what a checkpoint must share with the run resuming it: the settings (with the crop size
        # fixed; not where frames are cached, how many processes decode them nor what to do with
        # a bad video, none of which changes what is learnt) and the clips
        settings = self.metadata()["config"]
        settings["clip"] = {k: v for k, v in settings["clip"].items() if k not in ("workers", "on_bad_video")}
        run = {
            "config": settings,
            "label_names": self.label_names,
            "n_train": train.n_samples,
            "train_clips": clips_digest(train),
        }
        checkpoint_dir = None if work_dir is None else Path(work_dir) / "checkpoints"
        fitted = fit_loop(
            self.network,
            self.config,
            data,
            train.labels,
            len(self.label_names),
            run,
            checkpoint_dir,
            resume_from,
            progress,
        )
        self.history = fitted.history
        if fitted.cut_by_time_budget:
            self.notes.append(
                f"--time-budget stopped training after {len(fitted.history)} of {self.config.epochs} epochs; "
                "a run cut by the clock is not reproducible (drop the budget, or lower --epochs)"
            )

    # ------------------------------------------------------------------ predict
    def predict_proba(
        self,
        clips: ClipList,
        batch_size: int | None = None,
        test_clips: int | None = None,
        test_crops: int | None = None,
    ) -> np.ndarray:
        """Probabilities float32 `[N, C]`, averaged over `test_clips` x `test_crops` views per
        video (default: the saved clip options); a bad video raises."""
        if self.network is None:
            raise ConfigError("this VideoRecognizer is not fitted; call fit or VideoRecognizer.load first")
        clips, _ = self.prepare(clips, on_bad_video="stop")
        dataset = self.clip_dataset(clips, train=False, test_clips=test_clips, test_crops=test_crops)
        out = []
        with torch.inference_mode():
            for start in range(0, len(dataset), batch_size or self.config.batch_size):
                batch = torch.stack(
                    [
                        dataset[i][0]
                        for i in range(start, min(len(dataset), start + (batch_size or self.config.batch_size)))
                    ]
                )
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

    def predict(self, clips: ClipList) -> np.ndarray:
        return np.asarray(self.label_names, dtype=object)[self.predict_proba(clips).argmax(1)]

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
        return (
            np.asarray(clips.ids, dtype=object),
            self.predict_proba(clips, **self.prediction_options(options.test_clips, options.test_crops)),
            {},
        )

    # ------------------------------------------------------------------ save / load
    def describe(self) -> dict[str, str]:
        """What the model is and takes, one short line each, for a person (`actrec info`)."""
        clip = self.clip
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

    def metadata(self) -> dict[str, Any]:
        config = asdict(self.config)
        config["clip"] = {
            k: v for k, v in asdict(self.clip).items() if k != "cache"
        }  # a scratch path means nothing later
        return {
            "format": "actrec-model",
            "kind": self.kind,
            "actrec_version": __version__,
            "config": config,
            "label_names": self.label_names,
            "window_frames": self.window_frames,
            "sample_rate_hz": self.sample_rate_hz,
        }

    def save(self, path: str | Path) -> Path:
        if self.network is None:
            raise ConfigError("nothing to save: this VideoRecognizer is not fitted")
        return io_model_file.save_model(path, self.kind, self.network, self.metadata())

    @classmethod
    def load(cls, path: str | Path) -> VideoRecognizer:
        meta, tensors, path = io_model_file.load_model(path, cls.kind)
        with io_model_file.metadata_errors(path):
            config = dict(meta["config"])
            config.pop("init", None)
            rec = cls(**config)
            rec.label_names = meta["label_names"]
            rec.window_frames = int(meta["window_frames"])
            rec.sample_rate_hz = meta["sample_rate_hz"]
            rec.network = build_video_model(
                rec.config.model, len(rec.label_names), rec.clip.frames, rec.config.model_options, rec.clip.motion
            )
        try:
            rec.network.load_state_dict(tensors)
        except RuntimeError as error:
            raise ModelFileError(
                f"{path}: weights do not fit the saved model config ({first_line(error)}); the file is damaged"
            ) from None
        rec.network.eval()
        return rec


def clips_digest(clips: ClipList) -> str:
    """A short fingerprint of which clips (folder/file, span, label) a fit trains on, for a
    checkpoint to tell its clips from others; a moved dataset folder keeps it."""
    import hashlib

    assert clips.y is not None
    rows = [f"{path.parent.name}/{path.name} {clips.span(i)} {clips.y[i]}" for i, path in enumerate(clips.paths)]
    return hashlib.sha256("\n".join(rows).encode()).hexdigest()[:12]


def load_recognizer(path: str | Path) -> Any:
    """The one loader of model files: the `Recognizer` or `VideoRecognizer` the file (or RUN
    folder) holds, picked by the `kind` in its metadata."""
    from actrec.recognizer import Recognizer

    classes = {recognizer.kind: recognizer for recognizer in (Recognizer, VideoRecognizer)}
    file = io_model_file.model_path(Path(path))
    kind = io_model_file.model_kind(io_model_file.read_model_file(file, with_tensors=False)[0])
    if kind not in classes:
        raise ModelFileError(
            f"{file}: a model of kind '{kind}', which actrec {__version__} does not know (it reads "
            f"{', '.join(sorted(classes))}); load it with the actrec version that saved it"
        )
    return classes[kind].load(path)


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
