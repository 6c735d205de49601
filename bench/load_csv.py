"""How long `actrec.data.loading.load_dataset` takes on a sensor-competition long CSV, against a notebook baseline.

Writes a long table of IDS ids x STEPS steps x 6 channels (`id,time,acc_x,...,gyr_z`) plus a labels
CSV with 61 classes, `label_desc` and `group`, into a temporary folder, then times in this run:
- actrec: `load_dataset(features.csv, labels=labels.csv)` (pyarrow parser, vectorised padding);
- parser only: `pandas.read_csv` with the default engine, no reshaping (what the parse alone costs);
- baseline: `pandas.read_csv` (default engine) then a `groupby("id")` loop sorting each id by time and
  stacking its rows, then a merge with the labels -- the way it is usually written in notebooks.
It checks that actrec and the baseline produce the same array and prints seconds and ratios.

Each is run --repeat times (default 3) and the best time is kept.

Usage: python bench/load_csv.py [--ids 3125] [--steps 600] [--shuffle] [--repeat 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow
import pyarrow.csv

from actrec.data.loading import load_dataset

CHANNELS = ["acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z"]
N_CLASSES = 61
SAMPLE_RATE_HZ = 50.0


def write_tables(folder: Path, n_ids: int, n_steps: int, shuffle: bool, seed: int = 0) -> tuple[Path, Path]:
    """Write features.csv (n_ids * n_steps rows) and labels.csv; return their paths."""
    rng = np.random.default_rng(seed)
    ids = np.repeat(np.arange(n_ids), n_steps)
    times = np.tile(np.arange(n_steps) / SAMPLE_RATE_HZ, n_ids)
    values = rng.standard_normal((n_ids * n_steps, len(CHANNELS))).astype(np.float32)
    order = rng.permutation(len(ids)) if shuffle else np.arange(len(ids))
    columns = {"id": ids[order], "time": times[order]}
    columns.update({name: values[order, j] for j, name in enumerate(CHANNELS)})
    features = folder / "features.csv"
    pyarrow.csv.write_csv(pyarrow.table(columns), features)
    labels = rng.integers(0, N_CLASSES, n_ids)
    pd.DataFrame(
        {
            "id": np.arange(n_ids),
            "label": labels,
            "label_desc": [f"gesture_{k}" for k in labels],
            "group": rng.integers(0, 40, n_ids),
        }
    ).to_csv(folder / "labels.csv", index=False)
    return features, folder / "labels.csv"


def notebook_baseline(features: Path, labels: Path) -> tuple[np.ndarray, np.ndarray]:
    """pandas default parser + one groupby iteration per id, as in typical notebooks."""
    frame = pd.read_csv(features)
    label_table = pd.read_csv(labels)
    sequences, ids = [], []
    for sample_id, rows in frame.groupby("id", sort=False):
        rows = rows.sort_values("time")
        sequences.append(rows[CHANNELS].to_numpy(dtype=np.float32))
        ids.append(sample_id)
    longest = max(len(s) for s in sequences)
    X = np.zeros((len(sequences), longest, len(CHANNELS)), dtype=np.float32)
    for i, sequence in enumerate(sequences):
        X[i, : len(sequence)] = sequence
    y = pd.DataFrame({"id": ids}).merge(label_table, on="id", how="left")["label"].to_numpy()
    return X, y


def timed(action, repeat: int):
    """Result and the best wall time of `repeat` runs (the machine is shared; the best is least noisy)."""
    seconds = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = action()
        seconds.append(time.perf_counter() - start)
    return result, min(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ids", type=int, default=3125)
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--shuffle", action="store_true", help="write rows in random order")
    parser.add_argument("--repeat", type=int, default=3, help="runs per loader; the best time is kept")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        features, labels = write_tables(Path(tmp), args.ids, args.steps, args.shuffle)
        size_mb = features.stat().st_size / 1e6
        print(
            f"features.csv: {args.ids * args.steps:,} rows x {2 + len(CHANNELS)} columns, {size_mb:.0f} MB"
            f"{' (rows shuffled)' if args.shuffle else ''}; best of {args.repeat} runs each"
        )
        dataset, actrec_s = timed(lambda: load_dataset(features, labels=labels), args.repeat)
        _, parse_s = timed(lambda: pd.read_csv(features), args.repeat)
        (X_base, y_base), base_s = timed(lambda: notebook_baseline(features, labels), args.repeat)
    assert np.array_equal(dataset.X, X_base), "loaders disagree on X"
    # actrec names classes by the labels CSV's `label_desc` column (gesture_k for label k)
    assert np.array_equal(dataset.labels_as_names(), [f"gesture_{k}" for k in y_base]), "loaders disagree on labels"
    print(f"dataset: X {dataset.X.shape}, {dataset.n_classes} classes, sample_rate_hz {dataset.sample_rate_hz:g}")
    print(f"actrec load_dataset (pyarrow):     {actrec_s:7.2f} s")
    print(f"pandas.read_csv alone (C engine):  {parse_s:7.2f} s")
    print(f"notebook baseline (C parser+groupby loop): {base_s:7.2f} s")
    print(
        f"ratio baseline / actrec: {base_s / actrec_s:.1f}x; pandas.read_csv alone / actrec: {parse_s / actrec_s:.1f}x"
    )


if __name__ == "__main__":
    main()
