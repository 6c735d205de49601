"""The data's own faults, found before they cap accuracy or inflate it.

`audit_dataset(data, test)` checks class balance, sample lengths, constant and NaN channels,
exact and near-duplicate samples across splits, groups on both sides of a split, and lists
label-noise candidates: samples whose out-of-fold predicted probabilities disagree with their
label (confident learning, `cleanlab.filter.find_label_issues`). Each finding names the sample id,
group and time span so a person can open the recording and check it.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from actrec.data.dataset import SequenceDataset
from actrec.data.splits import fold_notes, kfold_splits
from actrec.errors import ConfigError, DataError
from actrec.io.atomic import write_text_atomic
from actrec.recognizer import Recognizer

NEAR_STEPS = 16  # every sample is resampled to this many steps before near-duplicate search
MAX_LISTED = 50  # rows listed per finding in audit.md / audit.json


def channel_values(data: SequenceDataset) -> np.ndarray:
    """float32 `[N, T, F]` (keypoints `[N, T, J, C]` flattened to F = J*C)."""
    return data.X.reshape(data.n_samples, data.n_steps, -1)


def channel_names(data: SequenceDataset) -> list[str]:
    """Feature names, `joint.x`-style names for keypoints with a known schema, else `channel i`."""
    n_channels = channel_values(data).shape[2]
    if data.feature_names and len(data.feature_names) == n_channels:
        return list(data.feature_names)
    if data.is_keypoints and data.schema:
        from actrec.skeletons import get_schema

        joints = get_schema(data.schema).joints
        if len(joints) == data.X.shape[2]:
            return [f"{joint}.{axis}" for joint in joints for axis in "xyzw"[: data.X.shape[3]]]
    return [f"channel {index}" for index in range(n_channels)]


SPAN_KEYS = (
    ("start_time", "end_time", "s"),
    ("start_s", "end_s", "s"),
    ("start", "end", ""),
    ("start_frame", "end_frame", "frames"),
)


def describe_sample(data: SequenceDataset, index: int) -> dict[str, Any]:
    """id, group, label and time span of sample `index`: what a person needs to find it.

    `span` is read from `meta` (start_time/end_time, start_s/end_s, start/end or
    start_frame/end_frame, the first pair present); every start*/end* meta value is copied too.
    """
    row: dict[str, Any] = {"id": data.sample_id(index)}
    row["group"] = None if data.groups is None else str(data.groups[index])
    if data.y is not None:
        row["label"] = data.label_names[int(data.y[index])]
    for key in sorted(data.meta):
        if key.startswith(("start", "end")):
            value = np.asarray(data.meta[key])[index]
            row[key] = value.item() if hasattr(value, "item") else value
    for start, end, unit in SPAN_KEYS:
        if start in data.meta and end in data.meta:
            row["span"] = f"{row[start]:g}-{row[end]:g} {unit}".strip()
            break
    return row


def class_counts(data: SequenceDataset, test: SequenceDataset | None) -> dict[str, Any]:
    """Counts per label and imbalance ratio (largest class / smallest present class)."""
    counts = np.bincount(data.labels, minlength=data.n_classes)
    present = counts[counts > 0]
    result: dict[str, Any] = {
        "counts": {name: int(count) for name, count in zip(data.label_names, counts)},
        "imbalance_ratio": float(present.max() / present.min()),
        "empty_classes": [name for name, count in zip(data.label_names, counts) if count == 0],
    }
    if test is not None and test.y is not None:
        test_names = np.asarray(test.label_names, dtype=object)[test.y]
        result["test_counts"] = {name: int(np.sum(test_names == name)) for name in data.label_names}
        result["test_only_classes"] = sorted(set(test_names) - set(data.label_names))
    return result


def length_summary(data: SequenceDataset) -> dict[str, Any]:
    """Percentiles and a 10-bin histogram of valid steps per sample."""
    lengths = data.lengths
    counts, edges = np.histogram(lengths, bins=min(10, max(1, int(lengths.max() - lengths.min()) + 1)))
    return {
        "min": int(lengths.min()),
        "p5": float(np.percentile(lengths, 5)),
        "median": float(np.median(lengths)),
        "p95": float(np.percentile(lengths, 95)),
        "max": int(lengths.max()),
        "padded_samples": int(np.sum(lengths < data.n_steps)),
        "histogram": {"edges": [float(e) for e in edges], "counts": [int(c) for c in counts]},
    }


def channel_health(data: SequenceDataset) -> list[dict[str, Any]]:
    """Channels that are constant or hold NaN over the valid steps of the dataset.

    Each row: channel name, fraction of NaN values, samples where the channel is all NaN, and
    whether the finite values are constant (a dead sensor or a joint never detected).
    """
    values = channel_values(data)
    mask = data.mask()
    names = channel_names(data)
    valid = values[mask]  # [sum(lengths), F]
    nan = np.isnan(valid)
    nan_fraction = nan.mean(0)
    per_sample_nan = np.isnan(values) | ~mask[:, :, None]
    all_nan_samples = (per_sample_nan.all(1)).sum(0)
    with np.errstate(all="ignore"):
        finite_max = np.where(nan, -np.inf, valid).max(0)
        finite_min = np.where(nan, np.inf, valid).min(0)
    rows = []
    for index, name in enumerate(names):
        constant = bool(finite_max[index] == finite_min[index]) or bool(nan[:, index].all())
        if constant or nan_fraction[index] > 0:
            rows.append(
                {
                    "channel": name,
                    "nan_fraction": float(nan_fraction[index]),
                    "all_nan_samples": int(all_nan_samples[index]),
                    "constant": constant,
                }
            )
    return rows


def missing_fraction(data: SequenceDataset) -> np.ndarray:
    """float `[N]`: share of NaN values in each sample's valid steps (1.0 = the detector saw nothing)."""
    values = channel_values(data)
    mask = data.mask()
    nan = np.isnan(values).sum(2) * mask
    return nan.sum(1) / (data.lengths * values.shape[2])


def fingerprints(data: SequenceDataset, decimals: int = 5) -> list[str]:
    """A hash per sample of its valid steps rounded to `decimals`: equal hash = exact duplicate."""
    values = channel_values(data)
    out = []
    for index in range(data.n_samples):
        sample = np.round(np.nan_to_num(values[index, : data.lengths[index]], nan=1e30), decimals) + 0.0
        out.append(hashlib.blake2b(sample.tobytes() + str(sample.shape).encode(), digest_size=16).hexdigest())
    return out


def resampled_vectors(data: SequenceDataset, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """`[N, NEAR_STEPS * F]`: each sample's valid part linearly resampled, standardised, NaN -> 0.

    Resampling makes samples of different lengths comparable; standardising makes a distance of
    1 mean one standard deviation on every channel.
    """
    values = channel_values(data)
    out = np.empty((data.n_samples, NEAR_STEPS, values.shape[2]), dtype=np.float32)
    grid = np.linspace(0.0, 1.0, NEAR_STEPS)
    for index in range(data.n_samples):
        length = int(data.lengths[index])
        position = grid * (length - 1)
        low = np.floor(position).astype(int)
        high = np.minimum(low + 1, length - 1)
        weight = (position - low)[:, None]
        sample = values[index]
        out[index] = sample[low] * (1 - weight) + sample[high] * weight
    out = (out - mean) / std
    return np.nan_to_num(out, nan=0.0).reshape(data.n_samples, -1)


def channel_scale(data: SequenceDataset) -> tuple[np.ndarray, np.ndarray]:
    valid = channel_values(data)[data.mask()]
    with np.errstate(all="ignore"):
        mean = np.nanmean(valid, 0) if valid.size else np.zeros(valid.shape[1])
        std = np.nanstd(valid, 0)
    mean = np.nan_to_num(mean)
    std = np.where(np.isfinite(std) & (std > 0), std, 1.0)
    return mean.astype(np.float32), std.astype(np.float32)


def duplicates(data: SequenceDataset, test: SequenceDataset | None, near_rms: float) -> dict[str, Any]:
    """Exact and near-duplicate samples that cross a split.

    With `test`: pairs (train sample, test sample). Without: pairs inside `data` that a
    group-aware split could still put on two sides (different groups), or any pair when there are
    no groups. Near duplicates are pairs whose resampled, standardised values differ by less than
    `near_rms` standard deviations (root mean square) without being exact copies. Pairs whose
    labels differ are marked: a copy with two labels is a label error as well as a leak. Samples
    more than half NaN are left out (two empty windows are alike without being copies); `missing`
    reports them instead.
    """
    from sklearn.neighbors import NearestNeighbors

    mean, std = channel_scale(data)
    exact: list[dict[str, Any]] = []
    near: list[dict[str, Any]] = []

    def comparable(dataset: SequenceDataset) -> np.ndarray:
        return np.flatnonzero(missing_fraction(dataset) <= 0.5)

    def pair(left: SequenceDataset, i: int, right: SequenceDataset, j: int, **extra: Any) -> dict[str, Any]:
        a, b = describe_sample(left, i), describe_sample(right, j)
        row = {"a": a, "b": b, **extra}
        if "label" in a and "label" in b:
            row["labels_differ"] = a["label"] != b["label"]
        return row

    keep = comparable(data)
    train_hash = fingerprints(data)
    train_vectors = resampled_vectors(data, mean, std)
    dims = train_vectors.shape[1]
    if test is not None:
        first_by_hash: dict[str, int] = {}
        for index in keep:
            first_by_hash.setdefault(train_hash[index], int(index))
        test_keep = comparable(test)
        test_hash = fingerprints(test)
        exact_test = set()
        for j in test_keep:
            if test_hash[j] in first_by_hash:
                exact_test.add(int(j))
                exact.append(pair(data, first_by_hash[test_hash[j]], test, int(j)))
        if keep.size and test_keep.size:
            distance, neighbour = (
                NearestNeighbors(n_neighbors=1)
                .fit(train_vectors[keep])
                .kneighbors(resampled_vectors(test, mean, std)[test_keep])
            )
            rms = distance[:, 0] / np.sqrt(dims)
            for row in np.argsort(rms):
                if rms[row] >= near_rms:
                    break
                if int(test_keep[row]) not in exact_test:
                    near.append(
                        pair(
                            data, int(keep[neighbour[row, 0]]), test, int(test_keep[row]), rms_distance=float(rms[row])
                        )
                    )
    else:
        by_hash: dict[str, list[int]] = {}
        for index in keep:
            by_hash.setdefault(train_hash[index], []).append(int(index))

        def crosses(i: int, j: int) -> bool:
            return data.groups is None or data.groups[i] != data.groups[j]

        for members in by_hash.values():
            exact += [pair(data, members[0], data, j) for j in members[1:] if crosses(members[0], j)]
        k = min(6, keep.size)
        if k > 1:
            distance, neighbour = (
                NearestNeighbors(n_neighbors=k).fit(train_vectors[keep]).kneighbors(train_vectors[keep])
            )
            seen = set()
            for row in range(keep.size):
                for d, column in zip(distance[row, 1:], neighbour[row, 1:]):
                    a, b = sorted((int(keep[row]), int(keep[column])))
                    rms = d / np.sqrt(dims)
                    if rms >= near_rms or a == b or (a, b) in seen:
                        continue
                    seen.add((a, b))
                    if train_hash[a] != train_hash[b] and crosses(a, b):
                        near.append(pair(data, a, data, b, rms_distance=float(rms)))
            near.sort(key=lambda row: row["rms_distance"])
    return {
        "scope": "train vs test" if test is not None else "within data, across groups",
        "near_rms_threshold": near_rms,
        "exact_count": len(exact),
        "near_count": len(near),
        "exact": exact[:MAX_LISTED],
        "near": near[:MAX_LISTED],
    }


def missing_samples(data: SequenceDataset) -> dict[str, Any]:
    """Samples with no finite value (listed) and samples more than half NaN (counted)."""
    fraction = missing_fraction(data)
    empty = np.flatnonzero(fraction >= 1.0)
    return {
        "empty_count": int(empty.size),
        "mostly_missing_count": int(np.sum(fraction > 0.5)),
        "empty": [describe_sample(data, int(i)) for i in empty[:MAX_LISTED]],
    }


def group_leakage(data: SequenceDataset, test: SequenceDataset | None) -> dict[str, Any] | None:
    """Groups (videos, subjects) present in both train and test, with sample counts on each side."""
    if test is None or data.groups is None or test.groups is None:
        return None
    train_groups, train_counts = np.unique(data.groups, return_counts=True)
    test_groups, test_counts = np.unique(test.groups, return_counts=True)
    train_count = dict(zip(train_groups, train_counts))
    shared = [
        {"group": str(group), "train_samples": int(train_count[group]), "test_samples": int(count)}
        for group, count in zip(test_groups, test_counts)
        if group in train_count
    ]
    return {"shared_count": len(shared), "test_groups": len(test_groups), "shared": shared[:MAX_LISTED]}


def summary_features(data: SequenceDataset) -> np.ndarray:
    """`[N, 7 * F]` per-channel statistics over valid steps for a cheap classifier.

    mean, std, min, max, mean |step difference| (speed), and the means of the first and last
    thirds (direction of change); NaN where a channel has no finite value. (Quartiles added
    nothing measurable and nanpercentile was most of the audit's time.)
    """
    values = channel_values(data).astype(np.float64)
    values = np.where(data.mask()[:, :, None], values, np.nan)
    thirds = np.maximum(data.lengths // 3, 1)
    steps = np.arange(data.n_steps)[None, :, None]
    first = np.where(steps < thirds[:, None, None], values, np.nan)
    last = np.where(steps >= (data.lengths - thirds)[:, None, None], values, np.nan)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN channels give NaN features, imputed later
        parts = [
            np.nanmean(values, 1),
            np.nanstd(values, 1),
            np.nanmin(values, 1),
            np.nanmax(values, 1),
            np.nanmean(np.abs(np.diff(values, axis=1)), 1),
            np.nanmean(first, 1),
            np.nanmean(last, 1),
        ]
    return np.concatenate(parts, axis=1)


def features_oof(data: SequenceDataset, splits: list[tuple[np.ndarray, np.ndarray]], seed: int) -> np.ndarray:
    """Out-of-fold probabilities of summary features -> impute -> standardise -> logistic regression.

    C=0.1: on windows of unseen recordings it predicted better (and fitted 6x faster) than C=1 or
    tree ensembles in bench/audit_noise.py's data.
    """
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    features = summary_features(data)
    features[:, np.all(np.isnan(features), axis=0)] = 0.0
    proba = np.zeros((data.n_samples, data.n_classes))
    for train, test in splits:
        model = make_pipeline(
            SimpleImputer(), StandardScaler(), LogisticRegression(C=0.1, max_iter=500, random_state=seed)
        )
        model.fit(features[train], data.labels[train])
        proba[np.ix_(test, model.classes_)] = model.predict_proba(features[test])
    return proba


def recognizer_oof(
    data: SequenceDataset, splits: list[tuple[np.ndarray, np.ndarray]], seed: int, model: str = "gru"
) -> np.ndarray:
    """Out-of-fold probabilities of a Recognizer per fold: a small GRU trained for a few epochs,
    or MiniRocket, fitted in closed form in seconds and calibrated on each fold's validation part.

    Groups are dropped inside a training fold: its inner validation split may then share a group,
    which only affects early stopping or the temperature; the outer folds still keep each group
    out of the model that scores it. Values a sensor never gave (NaN) are read as 0.
    """
    from dataclasses import replace

    options: dict[str, Any] = (
        {"model_options": {"hidden_sizes": [32], "dense": []}, "epochs": 15} if model == "gru" else {}
    )
    if not (data.is_keypoints and data.schema):
        data = replace(data, X=np.nan_to_num(data.X, nan=0.0, posinf=0.0, neginf=0.0))
    proba = np.zeros((data.n_samples, data.n_classes))
    for train, test in splits:
        recognizer = Recognizer(model=model, seed=seed, **options)
        recognizer.fit(replace(data.subset(train), groups=None))
        names = list(recognizer.label_names)
        columns = [data.label_names.index(name) for name in names]
        proba[np.ix_(test, np.asarray(columns))] = recognizer.predict_proba(data.subset(test))
    return proba


def ensemble_oof(data: SequenceDataset, splits: list[tuple[np.ndarray, np.ndarray]], seed: int) -> np.ndarray:
    """Normalised geometric mean of MiniRocket's and the summary features' out-of-fold
    probabilities: a label both doubt is flagged, one doubted by a single model less often.
    bench/audit_noise.py: F1 of the flagged set 0.671 against 0.565 (MiniRocket) and 0.591
    (features) on synthetic keypoint windows with 10% of labels flipped."""
    product = np.sqrt(
        np.clip(recognizer_oof(data, splits, seed, model="minirocket"), 1e-12, None)
        * np.clip(features_oof(data, splits, seed), 1e-12, None)
    )
    return product / product.sum(1, keepdims=True)


NOISE_MODELS: dict[str, Callable[[SequenceDataset, list[tuple[np.ndarray, np.ndarray]], int], np.ndarray]] = {
    "ensemble": ensemble_oof,
    "minirocket": lambda data, splits, seed: recognizer_oof(data, splits, seed, model="minirocket"),
    "features": features_oof,
    "recognizer": recognizer_oof,
}


def out_of_fold_proba(
    data: SequenceDataset, model: str = "ensemble", folds: int = 5, seed: int = 0
) -> tuple[np.ndarray, int]:
    """(float `[N, C]` probabilities, folds used): each sample predicted by a model that never saw it.

    Fewer folds are used when a class (or the set of groups) is too small for `folds`.

    Folds are stratified and group-aware (a sample's group is never in its own training folds),
    so windows of one recording cannot vouch for each other's labels.
    """
    if model not in NOISE_MODELS:
        raise ConfigError(f"unknown noise model '{model}'; choose one of: {', '.join(NOISE_MODELS)}")
    counts = np.bincount(data.labels, minlength=data.n_classes)
    if data.groups is None:
        folds = min(folds, int(counts[counts > 0].min()))
        if folds < 2:
            raise DataError(f"{data.source}: a class has 1 sample; label-noise search needs 2 per class")
    else:
        folds = min(folds, len(np.unique(data.groups)))
        if folds < 2:
            raise DataError(
                f"{data.source}: all samples share one group; label-noise search needs 2 groups or no groups"
            )
    return NOISE_MODELS[model](data, kfold_splits(data, folds, seed), seed), folds


def label_issues(data: SequenceDataset, model: str = "ensemble", folds: int = 5, seed: int = 0) -> dict[str, Any]:
    """Label-noise candidates by confident learning on out-of-fold probabilities, worst first."""
    from cleanlab.filter import find_label_issues

    proba, folds = out_of_fold_proba(data, model, folds, seed)
    present = np.unique(data.labels)
    # cleanlab wants every column to be a class with examples; drop classes absent from the data.
    remap = np.full(data.n_classes, -1)
    remap[present] = np.arange(len(present))
    sub = proba[:, present]
    sub = sub / np.clip(sub.sum(1, keepdims=True), 1e-12, None)
    ranked = find_label_issues(remap[data.y], sub, return_indices_ranked_by="self_confidence")
    rows = []
    for index in ranked[:MAX_LISTED]:
        row = describe_sample(data, int(index))
        suggested = int(present[np.argmax(sub[index])])
        row["suggested_label"] = data.label_names[suggested]
        row["given_label_probability"] = float(proba[index, data.labels[index]])
        row["suggested_label_probability"] = float(proba[index, suggested])
        rows.append(row)
    return {
        "model": model,
        "folds": folds,
        "out_of_fold_accuracy": float(np.mean(proba.argmax(1) == data.y)),
        "fold_notes": fold_notes(kfold_splits(data, folds, seed), data) if data.groups is not None else [],
        "count": int(len(ranked)),
        "indices": [int(i) for i in ranked],
        "candidates": rows,
    }


def audit_dataset(
    data: SequenceDataset,
    test: SequenceDataset | None = None,
    *,
    noise_model: str = "ensemble",
    folds: int = 5,
    seed: int = 0,
    near_rms: float = 0.1,
) -> dict[str, Any]:
    """Every check on `data` (and `test`, for cross-split checks); a JSON-able dict.

    Keys: summary, classes, lengths, channels, missing, duplicates, leakage (None without test
    groups), label_issues, findings (one-line sentences, the most serious first).
    """
    if data.y is None:
        raise DataError(f"{data.source}: has no labels; the audit needs labelled data")
    if test is not None and channel_values(test).shape[2] != channel_values(data).shape[2]:
        raise DataError(
            f"{test.source}: has {channel_values(test).shape[2]} channels but {data.source} has "
            f"{channel_values(data).shape[2]}; audit two files of the same layout"
        )
    result: dict[str, Any] = {
        "summary": {
            "source": data.source,
            "test_source": None if test is None else test.source,
            "samples": data.n_samples,
            "test_samples": None if test is None else test.n_samples,
            "steps": data.n_steps,
            "channels": int(channel_values(data).shape[2]),
            "classes": data.n_classes,
            "groups": None if data.groups is None else int(len(np.unique(data.groups))),
        },
        "classes": class_counts(data, test),
        "lengths": length_summary(data),
        "channels": channel_health(data),
        "missing": missing_samples(data),
        "duplicates": duplicates(data, test, near_rms),
        "leakage": group_leakage(data, test),
        "label_issues": label_issues(data, noise_model, folds, seed),
    }
    result["findings"] = findings(result)
    return result


def findings(result: dict[str, Any]) -> list[str]:
    """One sentence per problem found, leaks first (they inflate accuracy), then label noise."""
    out = []
    leakage = result["leakage"]
    if leakage and leakage["shared_count"]:
        names = ", ".join(row["group"] for row in leakage["shared"][:5])
        out.append(
            f"group leakage: {leakage['shared_count']} group(s) are in both train and test ({names}); split by group"
        )
    dup = result["duplicates"]
    if dup["exact_count"]:
        out.append(f"{dup['exact_count']} exact duplicate sample(s) {dup['scope']}; drop the copies")
    if dup["near_count"]:
        out.append(
            f"{dup['near_count']} near-duplicate sample(s) {dup['scope']} (RMS < {dup['near_rms_threshold']} std); check for overlapping windows"
        )
    conflicting = sum(row.get("labels_differ", False) for row in dup["exact"])
    if conflicting:
        out.append(f"{conflicting} duplicate pair(s) carry different labels")
    issues = result["label_issues"]
    if issues and issues["count"]:
        out.append(
            f"{issues['count']} label-noise candidate(s) of {result['summary']['samples']} samples "
            f"(confident learning on {issues['folds']}-fold out-of-fold probabilities, {issues['model']} model); review them"
        )
    out += [f"out-of-fold probabilities: {note}" for note in (issues or {}).get("fold_notes", [])]
    missing = result["missing"]
    if missing["empty_count"]:
        out.append(f"{missing['empty_count']} sample(s) hold no finite value (nothing detected); drop them")
    if missing["mostly_missing_count"] > missing["empty_count"]:
        out.append(f"{missing['mostly_missing_count'] - missing['empty_count']} more sample(s) are over half NaN")
    classes = result["classes"]
    if classes["imbalance_ratio"] >= 3:
        out.append(
            f"class imbalance: the largest class has {classes['imbalance_ratio']:.1f}x the samples of the smallest"
        )
    if classes["empty_classes"]:
        out.append(f"classes with no samples: {', '.join(classes['empty_classes'])}")
    if classes.get("test_only_classes"):
        out.append(f"classes only in test: {', '.join(classes['test_only_classes'])}")
    constant = [row["channel"] for row in result["channels"] if row["constant"]]
    if constant:
        out.append(f"{len(constant)} constant channel(s): {', '.join(constant[:8])}")
    nan = [row for row in result["channels"] if row["nan_fraction"] > 0 and not row["constant"]]
    if nan:
        worst = max(row["nan_fraction"] for row in nan)
        out.append(
            f"{len(nan)} channel(s) hold NaN (up to {worst:.0%} of values): {', '.join(row['channel'] for row in nan[:8])}"
        )
    lengths = result["lengths"]
    if lengths["max"] > 2 * max(lengths["min"], 1):
        out.append(f"lengths vary from {lengths['min']} to {lengths['max']} steps (median {lengths['median']:g})")
    return out


def _sample_cell(row: dict[str, Any]) -> str:
    span = f" [{row['span']}]" if "span" in row else ""
    group = f" group {row['group']}" if row.get("group") is not None else ""
    return f"{row['id']}{group}{span}"


def audit_markdown(result: dict[str, Any]) -> str:
    """A human-readable `audit.md`: findings first, then the tables behind them."""
    lines = ["# Data audit", "", f"Data: `{result['summary']['source']}`"]
    if result["summary"]["test_source"]:
        lines.append(f"Test: `{result['summary']['test_source']}`")
    lines += ["", "## Findings", ""]
    lines += [f"- {text}" for text in result["findings"]] or ["- nothing found"]
    lines += ["", "## Classes", "", "| class | samples | test samples |", "|---|---:|---:|"]
    test_counts = result["classes"].get("test_counts", {})
    for name, count in result["classes"]["counts"].items():
        lines.append(f"| {name} | {count} | {test_counts.get(name, '')} |")
    lines += ["", f"Imbalance ratio: {result['classes']['imbalance_ratio']:.2f}", ""]
    lengths = result["lengths"]
    lines += [
        "## Lengths",
        "",
        f"min {lengths['min']}, p5 {lengths['p5']:g}, median {lengths['median']:g}, p95 {lengths['p95']:g}, "
        f"max {lengths['max']} steps; {lengths['padded_samples']} padded sample(s)",
        "",
    ]
    if result["channels"]:
        lines += [
            "## Channels with NaN or constant values",
            "",
            "| channel | NaN fraction | all-NaN samples | constant |",
            "|---|---:|---:|---|",
        ]
        lines += [
            f"| {r['channel']} | {r['nan_fraction']:.3f} | {r['all_nan_samples']} | {r['constant']} |"
            for r in result["channels"][:MAX_LISTED]
        ]
        lines.append("")
    missing = result["missing"]
    if missing["empty"]:
        lines += ["## Samples with no finite value", ""] + [f"- {_sample_cell(row)}" for row in missing["empty"]] + [""]
    dup = result["duplicates"]
    lines += [f"## Duplicates ({dup['scope']})", "", f"{dup['exact_count']} exact, {dup['near_count']} near", ""]
    if dup["exact"] or dup["near"]:
        lines += ["| kind | sample | duplicate of | RMS distance | labels differ |", "|---|---|---|---:|---|"]
        for kind in ("exact", "near"):
            for row in dup[kind]:
                distance = f"{row['rms_distance']:.4f}" if "rms_distance" in row else "0"
                lines.append(
                    f"| {kind} | {_sample_cell(row['b'])} | {_sample_cell(row['a'])} | {distance} | {row.get('labels_differ', '')} |"
                )
        lines.append("")
    if result["leakage"] is not None:
        leak = result["leakage"]
        lines += [
            "## Group leakage",
            "",
            f"{leak['shared_count']} of {leak['test_groups']} test group(s) also in train",
            "",
        ]
        if leak["shared"]:
            lines += ["| group | train samples | test samples |", "|---|---:|---:|"]
            lines += [f"| {r['group']} | {r['train_samples']} | {r['test_samples']} |" for r in leak["shared"]]
            lines.append("")
    issues = result["label_issues"]
    lines += [
        "## Label-noise candidates",
        "",
        f"{issues['count']} candidate(s); {issues['model']} model, {issues['folds']} folds, "
        f"out-of-fold accuracy {issues['out_of_fold_accuracy']:.3f}",
        "",
    ]
    if issues["candidates"]:
        lines += ["| sample | given label | p(given) | suggested | p(suggested) |", "|---|---|---:|---|---:|"]
        for row in issues["candidates"]:
            lines.append(
                f"| {_sample_cell(row)} | {row['label']} | {row['given_label_probability']:.3f} | "
                f"{row['suggested_label']} | {row['suggested_label_probability']:.3f} |"
            )
        lines.append("")
    return "\n".join(lines) + "\n"


def write_audit(result: dict[str, Any], out_dir: str | Path) -> tuple[Path, Path]:
    """Write `audit.json` and `audit.md` into `out_dir` (atomically); return both paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out / "audit.json", out / "audit.md"
    write_text_atomic(json_path, json.dumps(result, indent=2, default=str) + "\n")
    write_text_atomic(md_path, audit_markdown(result))
    return json_path, md_path
