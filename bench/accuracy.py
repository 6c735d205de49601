"""Top-1 test accuracy and fit/predict time of actrec's model families against aeon's MiniRocket
and MultiRocketHydra on public benchmarks, in one run.

    python bench/accuracy.py [--datasets BasicMotions GunPoint ...] [--models auto minirocket ...]
                             [--baselines MiniRocket MultiRocketHydra] [--seeds 5] [--quick]

Each dataset is a UEA/UCR archive problem shipped inside aeon (no download), trained on its
official TRAIN split and scored on its TEST split. actrec runs `Recognizer(model, seed=s)` with
its defaults (what users get), fed through `actrec.data.loading.load_dataset`, so ragged series keep their
own lengths and are masked. The baselines are aeon's classifiers with their defaults. They need
equal-length input, so on ragged sets each runs twice, once zero-padded (aeon `Padder`) and once
resampled (aeon `Resizer`) to the longest series, and the better mean accuracy is kept: any doubt
goes to the baseline. aeon's numba kernels are compiled before any timing (warm-up). Every method
runs `--seeds` seeds; the table prints mean ± std over seeds and the mean fit and predict seconds
of one model, then the mean over datasets and the fit-time ratio to MiniRocket.
`--quick`: 1 seed and 10 epochs for neural models (a smoke run, not a result).

`--datasets KeypointWindows` adds what keypoint users have: actrec's generated skeleton
recordings (30 videos, COCO-17 with detector gaps) cut into overlapping windows (30 frames,
stride 10), split by video (group-aware, 30% of videos for test). The baselines get the raw
keypoints flattened to channels, gaps as 0.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from actrec.data.dataset import SequenceDataset
from actrec.data.loading import load_dataset
from actrec.recognizer import Recognizer

MOTION_SETS = ["BasicMotions", "PickupGestureWiimoteZ", "GunPoint", "JapaneseVowels"]
ACTREC_MODELS = ["auto", "minirocket", "multirocket", "inception", "gru", "lstm"]
NEURAL = {"inception", "gru", "lstm"}
BASELINES = ["MiniRocket", "MultiRocketHydra"]


def aeon_data_folder() -> Path:
    import aeon.datasets

    return Path(aeon.datasets.__file__).parent / "data"


def load_split(name: str) -> tuple[SequenceDataset, SequenceDataset]:
    if name == "KeypointWindows":
        return keypoint_windows()
    folder = aeon_data_folder() / name
    train = load_dataset(folder / f"{name}_TRAIN.ts")
    test = load_dataset(folder / f"{name}_TEST.ts", label_names=train.label_names)
    return train, test


def keypoint_windows() -> tuple[SequenceDataset, SequenceDataset]:
    """Generated skeleton windows split by video (see the module docstring)."""
    import tempfile

    from actrec.data.segments import windows_from_segments
    from actrec.data.splits import holdout_split
    from actrec.data.synthetic import write_synthetic

    with tempfile.TemporaryDirectory() as folder:
        write_synthetic(folder, n_recordings=30, seed=1, duration_s=60)
        data = windows_from_segments(f"{folder}/recordings", f"{folder}/segments.csv", window=30, stride=10)
    keep, hold = holdout_split(data, 0.3, 0)
    return data.subset(keep), data.subset(hold)


def as_series_list(data: SequenceDataset) -> list[np.ndarray]:
    """aeon's unequal-length collection: one `(channels, length)` array per sample, padding cut off
    (keypoints `[T, J, C]` flattened to J x C channels, undetected joints as 0)."""
    return [np.ascontiguousarray(np.nan_to_num(x[:n].reshape(n, -1)).T, dtype=np.float64) for x, n in zip(data.X, data.lengths)]


def fit_actrec(model: str, train: SequenceDataset, test: SequenceDataset, seed: int, quick: bool) -> tuple[float, float, float]:
    options = {"seed": seed} | ({"epochs": 10} if quick and model in NEURAL else {})
    start = time.perf_counter()
    recognizer = Recognizer(model, **options).fit(train)
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    predicted = recognizer.predict_proba(test.X, test.lengths).argmax(1)
    return float((predicted == test.y).mean()), fit_seconds, time.perf_counter() - start


def baseline(name: str, seed: int) -> object:
    from aeon.classification.convolution_based import MiniRocketClassifier, MultiRocketHydraClassifier

    return {"MiniRocket": MiniRocketClassifier, "MultiRocketHydra": MultiRocketHydraClassifier}[name](random_state=seed)


def fit_baseline(name: str, train: SequenceDataset, test: SequenceDataset, seed: int, equalise: str) -> tuple[float, float, float]:
    from aeon.transformations.collection.unequal_length import Padder, Resizer

    X_train, X_test = as_series_list(train), as_series_list(test)
    longest = int(max(train.lengths.max(), test.lengths.max()))
    if equalise == "pad":
        X_train, X_test = (Padder(padded_length=longest).fit_transform(x) for x in (X_train, X_test))
    elif equalise == "resize":
        X_train, X_test = (Resizer(resized_length=longest).fit_transform(x) for x in (X_train, X_test))
    else:
        X_train, X_test = np.stack(X_train), np.stack(X_test)
    start = time.perf_counter()
    model = baseline(name, seed).fit(X_train, train.y)
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    predicted = model.predict(X_test)
    return float((predicted == test.y).mean()), fit_seconds, time.perf_counter() - start


def warm_up(names: list[str]) -> None:
    """Compile the baselines' numba kernels once, so no dataset's fit time includes the JIT;
    and fit one tiny actrec model so its first fit does not pay import costs either."""
    rng = np.random.default_rng(0)
    y = np.array([0, 1] * 4)
    for channels in (1, 2):  # univariate and multivariate kernels are compiled separately
        X = rng.normal(size=(8, channels, 40))
        for name in names:
            baseline(name, 0).fit(X, y).predict(X)
    Recognizer("minirocket").fit(rng.normal(size=(8, 40, 2)).astype(np.float32), y)


def summary(scores: list[tuple[float, float, float]]) -> tuple[float, float, float, float]:
    values = np.array(scores)
    return float(values[:, 0].mean()), float(values[:, 0].std()), float(values[:, 1].mean()), float(values[:, 2].mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=MOTION_SETS)
    parser.add_argument("--models", nargs="+", default=ACTREC_MODELS, help="actrec models (auto is the default)")
    parser.add_argument("--baselines", nargs="*", default=BASELINES)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="1 seed, 10 epochs for neural models: a smoke run")
    args = parser.parse_args()
    seeds = 1 if args.quick else args.seeds
    torch.set_num_threads(1)  # the baselines run n_jobs=1: same budget for all
    warm_up(args.baselines)
    methods = [f"actrec {m}" for m in args.models] + [f"aeon {b}" for b in args.baselines]
    results: dict[str, dict[str, tuple[float, float, float, float]]] = {m: {} for m in methods}
    total = time.perf_counter()
    for name in args.datasets:
        train, test = load_split(name)
        lengths = np.concatenate([train.lengths, test.lengths])
        ragged = bool(np.unique(lengths).size > 1)
        length = f"{lengths.min()}-{lengths.max()}" if ragged else str(lengths.max())
        print(f"{name}: {train.n_samples} train, {test.n_samples} test, {train.n_classes} classes, length {length}", flush=True)
        for model in args.models:
            result = summary([fit_actrec(model, train, test, seed, args.quick) for seed in range(seeds)])
            results[f"actrec {model}"][name] = result
            print(f"  actrec {model:<14} {result[0]:.3f} ± {result[1]:.3f}  fit {result[2]:6.1f} s  predict {result[3]:5.2f} s", flush=True)
        for base in args.baselines:
            options = {prep: summary([fit_baseline(base, train, test, seed, prep) for seed in range(seeds)])
                       for prep in (("pad", "resize") if ragged else ("none",))}
            prep, result = max(options.items(), key=lambda item: item[1][0])
            results[f"aeon {base}"][name] = result
            print(f"  aeon {base:<16} {result[0]:.3f} ± {result[1]:.3f}  fit {result[2]:6.1f} s  predict {result[3]:5.2f} s  ({prep})", flush=True)
    print()
    print(f"top-1 on the official TEST split, mean ± std over {seeds} seed(s); fit / predict seconds of one model (1 thread)")
    print("| method | " + " | ".join(args.datasets) + " | mean top-1 | mean fit s | fit vs MiniRocket |")
    print("|---" * (len(args.datasets) + 4) + "|")
    reference = results.get("aeon MiniRocket")
    for method in methods:
        cells = [f"{results[method][d][0]:.3f} ± {results[method][d][1]:.3f}" for d in args.datasets]
        mean_top1 = np.mean([results[method][d][0] for d in args.datasets])
        mean_fit = np.mean([results[method][d][2] for d in args.datasets])
        ratio = f"{np.mean([results[method][d][2] / reference[d][2] for d in args.datasets]):.2f}x" if reference else "-"
        print(f"| {method} | " + " | ".join(cells) + f" | {mean_top1:.4f} | {mean_fit:.2f} | {ratio} |")
    print(f"total wall time {time.perf_counter() - total:.0f} s")


if __name__ == "__main__":
    main()
