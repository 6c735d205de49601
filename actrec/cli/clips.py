"""The clip side of the core commands: when `--data` is a folder of videos or a clips CSV, train
and compare route here (no commands of their own, so one CLI serves both); eval and predict need
no route, they call the loaded recognizer's `read_data` / `predict_data`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.markup import escape

from actrec.cli import console


def report_bad_video(line: str) -> None:
    console.print(f"[yellow]{escape(line)}[/yellow]", highlight=False, soft_wrap=True)


def clip_train_config(
    values: dict[str, Any], options: dict[str, Any], init: str | None, on_bad_video: str | None
) -> Any:
    """`actrec train` flags -> VideoTrainConfig; `-o` options split between the clip, the network
    and the training options (`-o label_smoothing=0.1` as well as `--label-smoothing 0.1`)."""
    from dataclasses import fields

    from actrec.data.clip_sampling import split_options
    from actrec.errors import ConfigError
    from actrec.recognizers import VideoTrainConfig

    known = {f.name for f in fields(VideoTrainConfig)}
    ignored = sorted(k for k, v in values.items() if k not in known and v not in (None, [], {}, 1))
    if ignored:
        raise ConfigError(
            f"option '{ignored[0]}' does not apply to clip data; clip options are: {', '.join(sorted(known))}"
        )
    values = {k: v for k, v in values.items() if k in known} | {
        k: options.pop(k) for k in list(options) if k in known - {"model", "model_options", "clip", "init"}
    }
    clip, network = split_options(options)
    if on_bad_video:
        clip["on_bad_video"] = on_bad_video
    config = VideoTrainConfig(**(values | {"model_options": network, "clip": clip, "init": init}))
    config.check()
    return config


def train_clips(
    data: str,
    out: str,
    test: str | None,
    values: dict[str, Any],
    init: str | None,
    on_bad_video: str | None,
    progress: bool,
    resume: str | None = None,
) -> tuple[str, Any]:
    """(model trained, RunResult). values: `actrec train`'s options (config file and flags);
    `model_options` holds the `-o` pairs, which are split between the clip and the network;
    `resume`: `--resume`. Without a model, `auto` sizes one to the clips and the result's notes
    say what it chose and why."""
    from actrec.data.clips import load_clips
    from actrec.recognizers import VideoTrainConfig
    from actrec.runs.clips import train_clip_run

    values = dict(values)
    options = dict(values.pop("model_options", None) or {})
    values["model"] = values.get("model") or VideoTrainConfig.model
    config = clip_train_config(values, options, init, on_bad_video)
    clips = load_clips(data)
    test_set = load_clips(test, label_names=clips.label_names) if test else None
    result = train_clip_run(
        clips, out, config, test=test_set, progress=progress, on_bad_video=report_bad_video, resume_from=resume
    )
    return json.loads((Path(out) / "config.json").read_text())["model"], result  # what `auto` became
