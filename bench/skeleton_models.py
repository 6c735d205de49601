"""The skeleton models on actrec's embedded dataset, judged by `compare` over several seeds.

The data is what `make demo` builds: generated COCO-17 recordings (`write_synthetic`, the path of
`actrec dataset generate`) cut into labelled windows (`windows_from_segments`, the path of
`actrec dataset build`). `actrec.experiments.compare` trains, on one group-aware holdout split
(20% of the recordings held out), once per seed:

  stgcn joint only   ST-GCN on the joint modality alone (`--modalities joint`: coordinates + presence)
  stgcn              ST-GCN with its default input (coordinates, velocity, presence)
  ctrgcn             CTR-GCN with its default input (the same as stgcn's)
  stgcn 4 modalities `--modalities joint,bone,joint_motion,bone_motion`, probabilities fused

with the same epochs and otherwise default training options, and prints top-1 (mean ± std over
seeds), fit seconds and single-window latency, then whether ctrgcn and the fused modalities each
beat ST-GCN on the joint modality (issue 9's acceptance).

    python bench/skeleton_models.py [--recordings 24] [--stride 30] [--epochs 5] [--seeds 3] [--out DIR]

The defaults (1,440 windows) train 21 networks (7 per seed) in about 14 minutes on a 2-core
machine at load average ~3 (2026-11-29); expect more on a busier one, or pass `--stride 45`
(960 windows; 12 minutes at load ~2.7).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import torch

from actrec.data.segments import windows_from_segments
from actrec.data.synthetic import write_synthetic
from actrec.experiments.compare import ModelSpec, compare

MODALITIES = ["joint", "bone", "joint_motion", "bone_motion"]
BASELINE = "stgcn joint only"


def specs(epochs: int) -> list[ModelSpec]:
    shared = {"epochs": epochs}
    return [
        ModelSpec(BASELINE, shared | {"model": "stgcn", "modalities": ["joint"]}),
        ModelSpec("stgcn", shared | {"model": "stgcn"}),
        ModelSpec("ctrgcn", shared | {"model": "ctrgcn"}),
        ModelSpec("stgcn 4 modalities", shared | {"model": "stgcn", "modalities": MODALITIES}),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recordings", type=int, default=24, help="generated recordings (make demo's 24)")
    parser.add_argument("--window", type=int, default=30)
    parser.add_argument("--stride", type=int, default=30, help="frames between window starts")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument(
        "--out", type=Path, default=None, help="keep compare's tables and cache here (default: a temporary folder)"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as scratch:
        out = args.out or Path(scratch) / "compare"
        data_dir = write_synthetic(Path(scratch) / "data", n_recordings=args.recordings, seed=0)
        data = windows_from_segments(
            data_dir / "recordings", data_dir / "segments.csv", window=args.window, stride=args.stride
        )
        print(
            f"{data.n_samples} windows of {args.window} frames (stride {args.stride}) from {args.recordings} generated recordings, "
            f"{len(data.label_names)} classes; {args.epochs} epochs, seeds 0..{args.seeds - 1}, 1 thread; "
            f"load average {os.getloadavg()[0]:.2f}",
            flush=True,
        )
        start = time.perf_counter()
        result = compare(
            data,
            specs(args.epochs),
            out,
            seeds=list(range(args.seeds)),
            use_cache=args.out is not None,
            on_run=lambda name, run, cached: print(
                f"  {name} {run}{' (cached)' if cached else ''} done at {time.perf_counter() - start:.0f} s", flush=True
            ),
        )
    summary = result.summary.set_index("config")
    print(f"\ncompare took {time.perf_counter() - start:.0f} s; load average {os.getloadavg()[0]:.2f}")
    print("| model | top-1 | fit s | latency us | params |")
    print("|---|---:|---:|---:|---:|")
    for name, row in summary.iterrows():
        print(
            f"| {name} | {row.top1_mean:.3f} ± {row.top1_std:.3f} | {row.train_time_s_mean:.0f} | {row.latency_us_mean:.0f} | {int(row.param_count):,} |"
        )
    baseline = summary.loc[BASELINE, "top1_mean"]
    for name in ("ctrgcn", "stgcn 4 modalities"):
        gain = summary.loc[name, "top1_mean"] - baseline
        print(f"{name} vs {BASELINE}: {gain:+.3f} top-1 ({'beats' if gain > 0 else 'does NOT beat'} it)")


if __name__ == "__main__":
    main()
