"""Top-1 test accuracy of actrec's default Recognizer against MiniRocket on public benchmarks.

    python bench/accuracy.py [--datasets BasicMotions GunPoint ...] [--seeds 3] [--quick]

Each dataset is a UEA/UCR archive problem shipped inside aeon (no download), trained on its
official TRAIN split and scored on its TEST split. actrec runs `Recognizer()` untouched (its
defaults are what users get), fed through `actrec.io.load_dataset`, so ragged series keep their
own lengths and are masked. MiniRocket is aeon's `MiniRocketClassifier` with its defaults
(10,000 kernels, ridge with cross-validated alpha). It needs equal-length input, so on ragged
sets it runs twice, once zero-padded (aeon `Padder`) and once resampled (aeon `Resizer`) to the
longest series of TRAIN+TEST, and the better of the two mean accuracies is kept: any doubt goes
to the baseline. Every method runs `--seeds` seeds; the table prints mean ± std over seeds and the
mean fit time of one model. `--quick` uses 1 seed and 10 epochs (a smoke run, not a result).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from actrec.data.dataset import SequenceDataset
from actrec.io import load_dataset
from actrec.recognizer import Recognizer

MOTION_SETS = ["BasicMotions", "PickupGestureWiimoteZ", "GunPoint", "JapaneseVowels"]


def aeon_data_folder() -> Path:
    import aeon.datasets

    return Path(aeon.datasets.__file__).parent / "data"


def load_split(name: str) -> tuple[SequenceDataset, SequenceDataset]:
    folder = aeon_data_folder() / name
    train = load_dataset(folder / f"{name}_TRAIN.ts")
    test = load_dataset(folder / f"{name}_TEST.ts", label_names=train.label_names)
    return train, test


def as_series_list(data: SequenceDataset) -> list[np.ndarray]:
    """aeon's unequal-length collection: one `(channels, length)` array per sample, padding cut off."""
    return [np.ascontiguousarray(x[:n].T, dtype=np.float64) for x, n in zip(data.X, data.lengths)]


def fit_actrec(train: SequenceDataset, test: SequenceDataset, seed: int, epochs: int | None) -> tuple[float, float]:
    options = {"seed": seed} if epochs is None else {"seed": seed, "epochs": epochs}
    start = time.perf_counter()
    model = Recognizer(**options).fit(train)
    seconds = time.perf_counter() - start
    predicted = model.predict_proba(test.X, test.lengths).argmax(1)
    return float((predicted == test.y).mean()), seconds


def fit_minirocket(train: SequenceDataset, test: SequenceDataset, seed: int, equalise: str) -> tuple[float, float]:
    from aeon.classification.convolution_based import MiniRocketClassifier
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
    model = MiniRocketClassifier(random_state=seed).fit(X_train, train.y)
    seconds = time.perf_counter() - start
    return float((model.predict(X_test) == test.y).mean()), seconds


def warm_up_minirocket() -> None:
    """Compile MiniRocket's numba kernels once, so no dataset's fit time includes the JIT."""
    from aeon.classification.convolution_based import MiniRocketClassifier

    rng = np.random.default_rng(0)
    MiniRocketClassifier(n_kernels=84, random_state=0).fit(rng.normal(size=(4, 2, 20)), np.array([0, 1, 0, 1]))


def summary(scores: list[tuple[float, float]]) -> tuple[float, float, float]:
    accuracy = np.array([s[0] for s in scores])
    return float(accuracy.mean()), float(accuracy.std()), float(np.mean([s[1] for s in scores]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=MOTION_SETS)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="1 seed, 10 actrec epochs: a smoke run")
    args = parser.parse_args()
    seeds = 1 if args.quick else args.seeds
    epochs = 10 if args.quick else None
    torch.set_num_threads(1)  # MiniRocket runs n_jobs=1: same budget for both
    warm_up_minirocket()
    header = f"{'dataset':<22}{'train':>6}{'test':>6}{'cls':>5}{'length':>9}  {'actrec top-1':>14}  {'MiniRocket top-1':>17} {'prep':>7}  {'diff':>7}  {'fit s actrec':>12}  {'fit s MR':>8}"
    rows = []
    total = time.perf_counter()
    for name in args.datasets:
        train, test = load_split(name)
        ragged = bool(np.unique(np.concatenate([train.lengths, test.lengths])).size > 1)
        ours = summary([fit_actrec(train, test, seed, epochs) for seed in range(seeds)])
        theirs = {
            prep: summary([fit_minirocket(train, test, seed, prep) for seed in range(seeds)])
            for prep in (("pad", "resize") if ragged else ("none",))
        }
        prep, best = max(theirs.items(), key=lambda item: item[1][0])
        lengths = np.concatenate([train.lengths, test.lengths])
        length = f"{lengths.min()}-{lengths.max()}" if ragged else str(lengths.max())
        rows.append(
            f"{name:<22}{train.n_samples:>6}{test.n_samples:>6}{train.n_classes:>5}{length:>9}  "
            f"{ours[0]:>7.3f} ± {ours[1]:.3f}  {best[0]:>10.3f} ± {best[1]:.3f} {prep:>7}  "
            f"{ours[0] - best[0]:>+7.3f}  {ours[2]:>12.1f}  {best[2]:>8.1f}"
        )
        print(rows[-1], flush=True)
    print()
    print(f"top-1 on the official TEST split, mean ± std over {seeds} seed(s); diff = actrec - MiniRocket")
    print(header)
    print("\n".join(rows))
    print(f"total wall time {time.perf_counter() - total:.0f} s")


if __name__ == "__main__":
    main()
