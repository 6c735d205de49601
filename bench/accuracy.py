"""Top-1 test accuracy and fit time of actrec's default against aeon's MiniRocket and
MultiRocketHydra on 13 sets of different kinds, beside the published figures, in one run.

    python bench/accuracy.py [--sets GunPoint SensorWindows ...] [--models auto minirocket ...]
                             [--baselines MiniRocket MultiRocketHydra] [--seeds 5] [--quick]

The sets (`--sets`, default all of SETS) span short and long series (24 to 1,460 steps), 20 to 3,560
training samples, univariate and multivariate (1 to 34 channels), equal and unequal length:
- ten UCR/UEA archive problems shipped inside aeon's wheel (aeon/datasets/data, no download),
  trained on the official TRAIN split and scored on its TEST split;
- KeypointWindows: actrec's generated skeleton recordings (30 videos, COCO-17 with detector gaps)
  cut into overlapping windows (30 frames, stride 10), split by video (30% of videos for test);
  the baselines get the raw keypoints (x, y) flattened to 34 channels, gaps as 0;
- SensorWindows (1,185 train x 250 steps, the issue-17 wrist-IMU shape) and SensorWindowsShort
  (3,000 train x 50 steps): generated accelerometer + gyroscope windows (bench/sensor_windows.py),
  train and test worn by different subjects.
Every set goes through `actrec.data.loading.load_dataset` (the generated sensor windows via an
.npz in a temporary folder), except KeypointWindows, which `windows_from_segments` builds.

actrec runs `Recognizer(model, seed=s)` with its defaults (what users get); ragged series keep
their own lengths and are masked. The baselines are aeon's classifiers with their defaults
(`random_state=s`). They need equal-length input, so on ragged sets each runs twice, once
zero-padded (aeon `Padder`) and once resampled (aeon `Resizer`) to the longest series, and the
better mean accuracy is kept: any doubt goes to the baseline. aeon's numba kernels are compiled
before any timing (warm-up), and everything runs on one thread.

Every method runs `--seeds` seeds on the same split; a set prints mean ± std (population) over
seeds, the mean fit seconds of one model (wall, and CPU of the process and its data-loader
workers) and its CPU ratio to aeon MiniRocket's on that set (CPU, so the ratio holds when other
work shares the machine; on one quiet core the two are equal), and, where the set is in them,
the published accuracies (bench/published_accuracy.csv, rows copied
from Middlehurst et al., "Bake off redux", 2024, via tsml-eval's publication results: MiniRocket
from convolution/MiniROCKET_accuracy.csv, MultiRocketHydra from best/MR-Hydra_accuracy.csv, as
"default split / mean of 30 resamples"; and from aeon's multiverse multivariate results, MRHydra
column, default split). PickupGestureWiimoteZ and JapaneseVowels were published on their
equal-length (_eq) versions.

The run ends with the mean over sets and issue 17's acceptance: the default (`auto`) is at least
aeon MiniRocket on every set within one std (the larger of the two methods' stds over seeds),
beats the better of MiniRocket and MultiRocketHydra on the mean by >= 1 point, and fits in
<= 20x MiniRocket's time on every set.

`--quick`: 1 seed, 10 epochs for neural models and, unless `--sets` is given, only QUICK_SETS
(a smoke run of the harness, not a result).
"""

from __future__ import annotations

import argparse
import csv
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from actrec.data.dataset import SequenceDataset
from actrec.data.loading import load_dataset
from actrec.recognizers import Recognizer

SETS = {
    "ItalyPowerDemand": "UCR: daily power demand, 24 steps, 2 seasons",
    "UnitTest": "aeon's cut of UCR Chinatown (same train, 22 of its test): pedestrian counts, 24 steps",
    "Covid3Month_disc": "UCR (bake-off new sets): Covid deaths, 84 steps, 3 bins",
    "GunPoint": "UCR: hand x-position, gun draw or point, 150 steps",
    "ArrowHead": "UCR: arrowhead outlines, 251 steps, 36 train",
    "OSULeaf": "UCR: leaf outlines, 427 steps, 6 species",
    "ACSF1": "UCR: appliance power, 1,460 steps, 10 appliances, 100 train",
    "PickupGestureWiimoteZ": "UCR: Wiimote z-acceleration gestures, unequal 29-361 steps",
    "BasicMotions": "UEA: smartwatch accelerometer + gyroscope, 6 channels, 100 steps",
    "JapaneseVowels": "UEA: 12 LPC cepstra of spoken vowels, unequal 7-29 steps",
    "KeypointWindows": "generated COCO-17 keypoint windows with detector gaps, split by video",
    "SensorWindows": "generated wrist-IMU windows, 1,185 train x 250 steps x 6, split by subject",
    "SensorWindowsShort": "generated wrist-IMU windows, 3,000 train x 50 steps x 6, split by subject",
}
QUICK_SETS = ["GunPoint", "BasicMotions", "JapaneseVowels"]
DEFAULT_MODEL = "auto"
ACTREC_MODELS = [DEFAULT_MODEL, "minirocket"]
NEURAL = {"inception", "gru", "lstm"}
BASELINES = ["MiniRocket", "MultiRocketHydra"]
REFERENCE = "aeon MiniRocket"
PUBLISHED = Path(__file__).with_name("published_accuracy.csv")
MAX_FIT_RATIO = 20.0


@dataclass(frozen=True)
class Score:
    """One method on one set: top-1 mean and std over seeds; mean fit wall and CPU seconds and
    predict wall seconds of one model."""

    top1: float
    top1_std: float
    fit_s: float
    fit_cpu_s: float
    predict_s: float


def cpu_seconds() -> float:
    """User + system CPU seconds of this process and its finished children (data-loader workers):
    unlike wall time, it does not grow when other work shares the machine."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def aeon_data_folder() -> Path:
    import aeon.datasets

    return Path(aeon.datasets.__file__).parent / "data"


def load_split(name: str) -> tuple[SequenceDataset, SequenceDataset]:
    """(train, test) of a set in SETS."""
    if name == "KeypointWindows":
        return keypoint_windows()
    if name == "SensorWindows":
        return sensor_split(n_train=1185, n_test=600, steps=250)
    if name == "SensorWindowsShort":
        return sensor_split(n_train=3000, n_test=1000, steps=50)
    folder = aeon_data_folder() / name
    train = load_dataset(folder / f"{name}_TRAIN.ts")
    test = load_dataset(folder / f"{name}_TEST.ts", label_names=train.label_names)
    return train, test


def keypoint_windows() -> tuple[SequenceDataset, SequenceDataset]:
    """Generated skeleton windows split by video (see the module docstring)."""
    from actrec.data.segments import windows_from_segments
    from actrec.data.splits import holdout_split
    from actrec.data.synthetic import write_synthetic

    with tempfile.TemporaryDirectory() as folder:
        write_synthetic(folder, n_recordings=30, seed=1, duration_s=60)
        data = windows_from_segments(f"{folder}/recordings", f"{folder}/segments.csv", window=30, stride=10)
    keep, hold = holdout_split(data, 0.3, 0)
    return data.subset(keep), data.subset(hold)


def sensor_split(n_train: int, n_test: int, steps: int) -> tuple[SequenceDataset, SequenceDataset]:
    """Generated wrist-IMU windows: 20 subjects train, 10 others test, written as .npz files and
    read back through `load_dataset` as a user's would be."""
    from sensor_windows import sensor_windows

    with tempfile.TemporaryDirectory() as folder:
        sensor_windows(n_train, range(0, 20), steps, seed=0).to_npz(f"{folder}/train.npz")
        sensor_windows(n_test, range(20, 30), steps, seed=1).to_npz(f"{folder}/test.npz")
        train = load_dataset(f"{folder}/train.npz")
        return train, load_dataset(f"{folder}/test.npz", label_names=train.label_names)


def published_accuracy() -> dict[tuple[str, str], str]:
    """(set, aeon method) -> the published figure as printed: "default split / mean of 30 resamples"."""
    with PUBLISHED.open(newline="") as file:
        return {
            (row["set"], row["method"]): " / ".join(v for v in (row["default_split"], row["mean_30_resamples"]) if v)
            for row in csv.DictReader(file)
        }


def as_series_list(data: SequenceDataset) -> list[np.ndarray]:
    """aeon's unequal-length collection: one `(channels, length)` array per sample, padding cut off
    (keypoints `[T, J, C]` flattened to J x C channels, undetected joints as 0)."""
    return [
        np.ascontiguousarray(np.nan_to_num(x[:n].reshape(n, -1)).T, dtype=np.float64)
        for x, n in zip(data.X, data.lengths)
    ]


def fit_actrec(
    model: str, train: SequenceDataset, test: SequenceDataset, seed: int, quick: bool
) -> tuple[float, float, float, float]:
    """(top-1, fit wall s, fit CPU s, predict wall s) of one seeded actrec model."""
    options = {"seed": seed} | ({"epochs": 10} if quick and model in NEURAL else {})
    start, start_cpu = time.perf_counter(), cpu_seconds()
    recognizer = Recognizer(model, **options).fit(train)
    fit_seconds, fit_cpu = time.perf_counter() - start, cpu_seconds() - start_cpu
    start = time.perf_counter()
    predicted = recognizer.predict_proba(test.X, test.lengths).argmax(1)
    return float((predicted == test.y).mean()), fit_seconds, fit_cpu, time.perf_counter() - start


def baseline(name: str, seed: int) -> object:
    from aeon.classification.convolution_based import MiniRocketClassifier, MultiRocketHydraClassifier

    return {"MiniRocket": MiniRocketClassifier, "MultiRocketHydra": MultiRocketHydraClassifier}[name](random_state=seed)


def fit_baseline(
    name: str, train: SequenceDataset, test: SequenceDataset, seed: int, equalise: str
) -> tuple[float, float, float, float]:
    """(top-1, fit wall s, fit CPU s, predict wall s) of one seeded aeon model; `equalise` is how
    ragged series become equal length ("pad", "resize") or "none"."""
    from aeon.transformations.collection.unequal_length import Padder, Resizer

    X_train, X_test = as_series_list(train), as_series_list(test)
    longest = int(max(train.lengths.max(), test.lengths.max()))
    if equalise == "pad":
        X_train, X_test = (Padder(padded_length=longest).fit_transform(x) for x in (X_train, X_test))
    elif equalise == "resize":
        X_train, X_test = (Resizer(resized_length=longest).fit_transform(x) for x in (X_train, X_test))
    else:
        X_train, X_test = np.stack(X_train), np.stack(X_test)
    start, start_cpu = time.perf_counter(), cpu_seconds()
    model = baseline(name, seed).fit(X_train, train.y)
    fit_seconds, fit_cpu = time.perf_counter() - start, cpu_seconds() - start_cpu
    start = time.perf_counter()
    predicted = model.predict(X_test)
    return float((predicted == test.y).mean()), fit_seconds, fit_cpu, time.perf_counter() - start


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


def summary(scores: list[tuple[float, float, float, float]]) -> Score:
    values = np.array(scores)
    return Score(float(values[:, 0].mean()), float(values[:, 0].std()), *(float(v) for v in values[:, 1:].mean(0)))


def describe(train: SequenceDataset, test: SequenceDataset) -> dict[str, str]:
    """The set's kind as read from its data: sizes, length (a range when ragged) and channels."""
    lengths = np.concatenate([train.lengths, test.lengths])
    ragged = bool(np.unique(lengths).size > 1)
    channels = int(np.prod(train.X.shape[2:]))
    return {
        "train": str(train.n_samples),
        "test": str(test.n_samples),
        "classes": str(train.n_classes),
        "length": f"{lengths.min()}-{lengths.max()}" if ragged else str(lengths.max()),
        "channels": str(channels),
        "kind": ("multivariate" if channels > 1 else "univariate") + (", unequal" if ragged else ", equal"),
    }


def fit_ratio(results: dict[str, dict[str, Score]], method: str, name: str) -> float | None:
    reference = results.get(REFERENCE, {}).get(name)
    return results[method][name].fit_cpu_s / reference.fit_cpu_s if reference else None


def score_line(method: str, score: Score, ratio: float | None, extra: str = "") -> str:
    ratio_text = f" ({ratio:5.2f}x)" if ratio is not None else ""
    return (
        f"  {method:<24} {score.top1:.3f} ± {score.top1_std:.3f}  fit {score.fit_s:7.2f} s, cpu {score.fit_cpu_s:7.2f} s{ratio_text}"
        f"  predict {score.predict_s:6.2f} s{extra}"
    )


def print_tables(
    results: dict[str, dict[str, Score]],
    facts: dict[str, dict[str, str]],
    published: dict[tuple[str, str], str],
    methods: list[str],
    baselines: list[str],
    seeds: int,
) -> None:
    names = list(facts)
    print(
        f"top-1 on each set's test split, mean ± std over {seeds} seed(s); published: default split / mean of 30 resamples"
    )
    pub_columns = [f"published {b}" for b in baselines]
    print("| set | kind | train | test | length | channels | " + " | ".join(methods + pub_columns) + " |")
    print("|---" * (6 + len(methods) + len(pub_columns)) + "|")
    for name in names:
        fact = facts[name]
        cells = [f"{results[m][name].top1:.3f} ± {results[m][name].top1_std:.3f}" for m in methods]
        cells += [published.get((name, b), "-") for b in baselines]
        print(
            f"| {name} | {fact['kind']} | {fact['train']} | {fact['test']} | {fact['length']} | {fact['channels']} | "
            + " | ".join(cells)
            + " |"
        )
    means = [f"**{np.mean([results[m][n].top1 for n in names]):.4f}**" for m in methods]
    print(f"| mean over {len(names)} sets | | | | | | " + " | ".join(means + ["" for _ in pub_columns]) + " |")
    print()
    print(
        "fit CPU seconds of one model (1 thread; wall seconds on a quiet core), and its ratio to aeon MiniRocket's on the same set"
    )
    print("| set | " + " | ".join(methods) + " |")
    print("|---" * (1 + len(methods)) + "|")
    for name in names:
        cells = []
        for method in methods:
            ratio = fit_ratio(results, method, name)
            cells.append(f"{results[method][name].fit_cpu_s:.2f}" + (f" ({ratio:.2f}x)" if ratio is not None else ""))
        print(f"| {name} | " + " | ".join(cells) + " |")
    cells = []
    for method in methods:
        ratios = [fit_ratio(results, method, n) for n in names]
        mean_fit = np.mean([results[method][n].fit_cpu_s for n in names])
        cells.append(
            f"{mean_fit:.2f}" + (f" ({np.mean(ratios):.2f}x, max {np.max(ratios):.2f}x)" if None not in ratios else "")
        )
    print("| mean | " + " | ".join(cells) + " |")


def print_acceptance(results: dict[str, dict[str, Score]], names: list[str], quick: bool) -> None:
    """Issue 17's accuracy and fit-time acceptance for the default model, with the margins."""
    default, rivals = f"actrec {DEFAULT_MODEL}", [f"aeon {b}" for b in BASELINES]
    if default not in results or any(r not in results for r in rivals):
        print(f"acceptance: not checked (needs --models {DEFAULT_MODEL} and --baselines {' '.join(BASELINES)})")
        return
    caveat = ("  [--quick: 1 seed, a smoke run, not a result]" if quick else "") + (
        f"  [only {len(names)} of the {len(SETS)} sets]" if len(names) < len(SETS) else ""
    )
    ours, reference = results[default], results[REFERENCE]
    losses = [
        f"{n} {ours[n].top1 - reference[n].top1:+.3f} (std {max(ours[n].top1_std, reference[n].top1_std):.3f})"
        for n in names
        if ours[n].top1 < reference[n].top1 - max(ours[n].top1_std, reference[n].top1_std)
    ]
    print(
        f"acceptance 1: {default} >= {REFERENCE} within one std on every set: {'PASS' if not losses else 'FAIL'}"
        + (f" (below on: {', '.join(losses)})" if losses else "")
        + caveat
    )
    mean_ours = float(np.mean([ours[n].top1 for n in names]))
    rival_means = {r: float(np.mean([results[r][n].top1 for n in names])) for r in rivals}
    best_rival = max(rival_means, key=rival_means.get)
    margin = mean_ours - rival_means[best_rival]
    print(
        f"acceptance 2: mean {default} {mean_ours:.4f} >= best rival {best_rival} {rival_means[best_rival]:.4f} + 0.010: "
        f"{'PASS' if margin >= 0.01 - 1e-9 else 'FAIL'} (margin {100 * margin:+.2f} points)" + caveat
    )
    ratios = {n: fit_ratio(results, default, n) for n in names}
    worst = max(ratios, key=ratios.get)
    print(
        f"acceptance 3: {default} fit CPU <= {MAX_FIT_RATIO:.0f}x {REFERENCE}'s on every set: "
        f"{'PASS' if ratios[worst] <= MAX_FIT_RATIO else 'FAIL'} (worst {worst} {ratios[worst]:.1f}x)" + caveat
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", choices=list(SETS), help="default: all (QUICK_SETS with --quick)")
    parser.add_argument(
        "--models", nargs="+", default=ACTREC_MODELS, help=f"actrec models ({DEFAULT_MODEL} is the default)"
    )
    parser.add_argument("--baselines", nargs="*", default=BASELINES, choices=BASELINES)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument(
        "--quick", action="store_true", help="1 seed, 10 epochs for neural models, QUICK_SETS: a smoke run"
    )
    args = parser.parse_args()
    seeds = 1 if args.quick else args.seeds
    names = args.sets or (QUICK_SETS if args.quick else list(SETS))
    torch.set_num_threads(1)  # the baselines run n_jobs=1: same budget for all
    warm_up(args.baselines)
    published = published_accuracy()
    methods = [f"actrec {m}" for m in args.models] + [f"aeon {b}" for b in args.baselines]
    results: dict[str, dict[str, Score]] = {m: {} for m in methods}
    facts: dict[str, dict[str, str]] = {}
    total = time.perf_counter()
    for name in names:
        train, test = load_split(name)
        facts[name] = fact = describe(train, test)
        print(
            f"{name}: {SETS[name]}; {fact['kind']}, {fact['train']} train, {fact['test']} test, "
            f"{fact['classes']} classes, length {fact['length']}, {fact['channels']} channel(s)",
            flush=True,
        )
        for base in args.baselines:  # first, so each actrec line can give its fit ratio to MiniRocket
            options = {
                prep: summary([fit_baseline(base, train, test, seed, prep) for seed in range(seeds)])
                for prep in (("pad", "resize") if "unequal" in fact["kind"] else ("none",))
            }
            prep, score = max(options.items(), key=lambda item: item[1].top1)
            method = f"aeon {base}"
            results[method][name] = score
            pub = published.get((name, base))
            print(
                score_line(
                    method,
                    score,
                    fit_ratio(results, method, name),
                    (f"  ({prep})" if prep != "none" else "") + (f"  published {pub}" if pub else ""),
                ),
                flush=True,
            )
        for model in args.models:
            method = f"actrec {model}"
            results[method][name] = summary([fit_actrec(model, train, test, seed, args.quick) for seed in range(seeds)])
            print(score_line(method, results[method][name], fit_ratio(results, method, name)), flush=True)
    print()
    print_tables(results, facts, published, methods, args.baselines, seeds)
    print()
    print_acceptance(results, names, args.quick)
    print(f"total wall time {time.perf_counter() - total:.0f} s")


if __name__ == "__main__":
    main()
