"""Which out-of-fold model finds flipped labels better: the default ensemble (MiniRocket x summary
features), MiniRocket (closed form), summary features + logistic regression, or a small GRU
Recognizer? All run the same confident-learning audit on the same data.

Data: actrec's synthetic keypoint recordings (coco17, NaN gaps, varied people and views) cut into
windows; a fixed 10% of window labels is flipped. Prints recall, precision and wall time of each.

    python bench/audit_noise.py [--recordings 10] [--duration 40] [--seed 0]
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np
import torch

from actrec.data.segments import windows_from_segments
from actrec.data.synthetic import write_synthetic
from actrec.experiments.audit.label_noise import label_issues


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recordings", type=int, default=10)
    parser.add_argument("--duration", type=float, default=40.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as folder:
        write_synthetic(folder, n_recordings=args.recordings, seed=args.seed, duration_s=args.duration)
        data = windows_from_segments(f"{folder}/recordings", f"{folder}/segments.csv", window=30, stride=15)
    rng = np.random.default_rng(args.seed)
    flipped = rng.choice(data.n_samples, data.n_samples // 10, replace=False)
    y = data.y.copy()
    y[flipped] = (y[flipped] + rng.integers(1, data.n_classes, flipped.size)) % data.n_classes
    data.y = y
    truth = set(flipped.tolist())
    print(
        f"{data.n_samples} windows, {data.n_classes} classes, {len(np.unique(data.groups))} recordings, {len(truth)} labels flipped"
    )
    for model in ("ensemble", "minirocket", "features", "recognizer"):
        start = time.perf_counter()
        found = set(label_issues(data, model=model, folds=5, seed=0)["indices"])
        seconds = time.perf_counter() - start
        hits = len(found & truth)
        recall, precision = hits / len(truth), hits / max(len(found), 1)
        f1 = 2 * recall * precision / max(recall + precision, 1e-12)
        print(
            f"{model:>10}: recall {recall:.3f}  precision {precision:.3f}  F1 {f1:.3f}  flagged {len(found)}  {seconds:.1f} s"
        )


if __name__ == "__main__":
    main()
