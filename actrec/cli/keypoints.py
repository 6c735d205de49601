"""Keypoint commands: dataset generate/build, extract, import."""

from __future__ import annotations

from typing import Any

import typer

from actrec.cli import app, console, run_cli
from actrec.cli.layout import DataLayout, with_data_layout

# `dataset` is owned by the keypoint-datasets work; `extract` below by the video-extraction work.
dataset_app = typer.Typer(
    no_args_is_help=True, help="Keypoint datasets: generate a synthetic one, build windows or clips."
)
app.add_typer(dataset_app, name="dataset")


@dataset_app.command("generate")
def dataset_generate(
    out: str = typer.Option(
        ..., "--out", help="Folder for recordings/*.npz and segments.csv (or clips/<class>/*.mp4)."
    ),
    recordings: int = typer.Option(40, help="Number of simulated recordings (about 60 s each)."),
    seed: int = typer.Option(0, help="Random seed; the same seed gives the same data."),
    kind: str = typer.Option(
        "skeletons", help="skeletons (keypoint recordings) or clips (videos whose class is their motion)"
    ),
    per_class: int = typer.Option(60, help="clips: videos per class"),
    size: int = typer.Option(32, help="clips: frame side in pixels"),
    frames: int = typer.Option(16, help="clips: frames per video"),
) -> None:
    """Simulate coco17 people standing, walking, sitting, falling and waving, with segment labels;
    or, with --kind clips, short videos of an object moving left/right/up/down/(counter)clockwise."""
    from actrec.data.synthetic import write_synthetic
    from actrec.errors import ConfigError

    if kind == "clips":
        from actrec.data.synthetic_clips import CLASSES, write_synthetic_clips

        folder = run_cli(lambda: write_synthetic_clips(out, per_class=per_class, frames=frames, size=size, seed=seed))
        console.print(
            f"wrote {per_class * len(CLASSES)} clips ({frames} frames of {size}x{size}) to {folder}/<class>/; train with: actrec train --data {folder} --model tsm"
        )
        return

    def skeletons() -> Any:
        if kind != "skeletons":
            raise ConfigError(f"--kind '{kind}' is not one of: skeletons, clips")
        return write_synthetic(out, recordings, seed)

    folder = run_cli(skeletons)
    console.print(f"wrote {recordings} recordings to {folder / 'recordings'} and labels to {folder / 'segments.csv'}")


@dataset_app.command("build")
@with_data_layout
def dataset_build(
    recordings: str = typer.Option(
        None, "--recordings", help="Folder of recording .npz files (per class sub-folders with --clips)."
    ),
    data: list[str] = typer.Option(
        [],
        "--data",
        help="Instead of --recordings: data file(s) in any layout train reads (.npy with --label-last, long .csv with --labels, ...; repeat or quote a pattern), written as one dataset.",
    ),
    out: str = typer.Option(..., "--out", help="Dataset .npz to write (what actrec train --data reads)."),
    segments: str = typer.Option(
        None,
        help="CSV video,start,end,label for labelled sliding windows (without a label column: unlabelled windows inside those spans); without it (and --clips) every window is unlabelled, for predict.",
    ),
    unit: str = typer.Option("seconds", help="Unit of start/end in the segments CSV: seconds or frames."),
    window: int = typer.Option(30, help="Window length in frames."),
    stride: int = typer.Option(10, help="Frames between window starts."),
    min_fraction: float = typer.Option(0.5, help="Share of a window its label must cover."),
    background: str = typer.Option(None, help="Label for windows no segment covers enough (default: drop them)."),
    clips: bool = typer.Option(False, "--clips", help="One sample per file, labelled by its folder."),
    data_format: str = typer.Option(
        "npz",
        "--format",
        help="npz (one compressed file, for small data) or folder (X.npy memory-mapped + samples.npz: read in chunks, for data larger than memory).",
    ),
    layout: DataLayout = DataLayout(),
) -> None:
    """Turn keypoint recordings plus annotations into a labelled dataset .npz (or array folder);
    without annotations, into unlabelled windows for `actrec predict`. With --data, write files of
    any layout (and their layout flags) as one dataset: labels, class names and groups inside."""
    import numpy as np

    from actrec.data.segments import clips_from_folders, unlabelled_windows, windows_from_segments
    from actrec.errors import ConfigError

    def action() -> Any:
        if data_format not in ("npz", "folder"):
            raise ConfigError(f"--format '{data_format}' is not one of: npz, folder")
        if clips and segments is not None:
            raise ConfigError("give either --segments CSV (sliding windows) or --clips (one label per file), not both")
        if (recordings is None) == (not data):
            raise ConfigError("give either --recordings FOLDER or --data FILE(S), one of the two")
        if data:
            if clips or segments is not None:
                raise ConfigError("--segments and --clips cut --recordings; --data files are already samples")
            dataset = layout.load(data)
        elif layout != DataLayout():
            raise ConfigError(
                "the layout flags (--labels, --label-last, ...) describe --data files; --recordings carry their own"
            )
        elif clips:
            dataset = clips_from_folders(recordings)
        elif segments is not None:
            dataset = windows_from_segments(recordings, segments, window, stride, unit, min_fraction, background)
        else:
            dataset = unlabelled_windows(recordings, window, stride)
        dataset.to_npz(out) if data_format == "npz" else dataset.to_folder(out)
        return dataset

    dataset = run_cli(action)
    groups = (
        "without groups"
        if dataset.groups is None
        else f"{'in' if data else 'from'} {len(set(dataset.groups))} {'groups' if data else 'recordings'}"
    )
    for note in dataset.notes if data else []:
        console.print(f"[yellow]note:[/yellow] {note}", highlight=False)
    if dataset.y is None:
        counts = "unlabelled: for actrec predict" + (
            "; add --segments or --clips to train on them" if segments is None else ", the segments have no label"
        )
    else:
        counts = ", ".join(
            f"{name} {count}"
            for name, count in zip(dataset.label_names, np.bincount(dataset.y, minlength=dataset.n_classes))
        )
    console.print(f"{out}: {dataset.n_samples} samples x {dataset.n_steps} frames {groups} ({counts})")


@app.command()
def extract(
    video: str = typer.Argument(..., help="A video file or a folder of videos (searched recursively)."),
    out: str = typer.Option(..., "--out", help="Folder for one keypoint .npz per video (folder layout kept)."),
    detector: str = typer.Option("pose", help="MediaPipe detector: pose (33 joints), hands (21), holistic (75)."),
    workers: int = typer.Option(1, help="Videos processed at once, each in its own process."),
    crop: str = typer.Option(None, help="X,Y,WIDTH,HEIGHT pixel region to detect in (people small in a wide shot)."),
    max_frames: int = typer.Option(None, help="Stop each video after this many frames."),
    people: bool = typer.Option(
        False,
        "--people",
        help="Every person: found, posed on their region, tracked (keypoints [T, P, 33, 4], track_id [P]).",
    ),
    people_finder: str = typer.Option(
        "detector", help="With --people, how people are found: detector (any camera), motion (a fixed camera), both."
    ),
    ray: str = typer.Option(
        None, "--ray", help="Run the videos as tasks on a Ray cluster: its address, or auto (needs actrec[cluster])."
    ),
) -> None:
    """Extract MediaPipe keypoints from videos; finished videos are skipped when run again."""
    from actrec.extract.core import Crop
    from actrec.jobs.extract_videos import extract_videos

    outcomes = run_cli(
        lambda: extract_videos(
            video,
            out,
            detector,
            workers,
            Crop.parse(crop) if crop else None,
            max_frames,
            console,
            people,
            ray,
            people_finder,
        )
    )
    failed = sum(outcome.status == "failed" for outcome in outcomes)
    console.print(f"{len(outcomes) - failed} of {len(outcomes)} videos extracted or already done; {failed} failed")
    if failed:
        raise typer.Exit(2)


@app.command("import")
def import_files(
    kind: str = typer.Argument(..., help="openpose | coco | mediapipe"),
    source: str = typer.Argument(
        ..., help="openpose: a --write_json folder or a folder of them; coco/mediapipe: a file or a folder."
    ),
    out: str = typer.Option(..., "--out", help="Folder for one recording .npz per video (folder layout kept)."),
    fps: float = typer.Option(
        None, help="The videos' frame rate (JSON from OpenPose and COCO holds none; default 30)."
    ),
    schema: str = typer.Option(
        None, help="openpose_137 (default) or openpose_body25; for mediapipe its schema (default mediapipe_pose)."
    ),
) -> None:
    """Turn keypoint files from OpenPose, COCO-17 tools or MediaPipe into recordings for `dataset build`."""
    from rich.markup import escape

    from actrec.io.imports import import_keypoints, import_schema
    from actrec.skeletons import get_schema

    def report(number: int, total: int, outcome: Any) -> None:
        if outcome.error:
            console.print(f"[{number}/{total}] [red]failed[/red] {escape(outcome.error)}", highlight=False)
        else:
            console.print(
                f"[{number}/{total}] {outcome.source} -> {outcome.out} ({outcome.frames} frames, {outcome.detected} with a person)",
                highlight=False,
                markup=False,
            )

    def run() -> list:
        name = import_schema(kind, schema, fps)
        return import_keypoints(kind, source, out, get_schema(name), name, fps, report)

    outcomes = run_cli(run)
    failed = sum(outcome.error is not None for outcome in outcomes)
    console.print(
        f"{len(outcomes) - failed} of {len(outcomes)} recordings written to {out}; {failed} failed",
        highlight=False,
        markup=False,
    )
    if failed:
        raise typer.Exit(2)
