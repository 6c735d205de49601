"""Checks that read the data alone: class balance, sample lengths, constant and NaN channels,
exact and near-duplicate samples across splits, and groups on both sides of a split. numpy and
scikit-learn only (no torch, no model), so they run anywhere the data opens."""

from __future__ import annotations

import hashlib

import numpy as np

from actrec.data.dataset import SequenceDataset
from actrec.experiments.audit.result import (
    ChannelRow,
    ClassCounts,
    Duplicates,
    Leakage,
    Lengths,
    Missing,
    Pair,
    Sample,
    SharedGroup,
)

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


def describe_sample(data: SequenceDataset, index: int) -> Sample:
    """id, group, label and time span of sample `index`: what a person needs to find it.

    `span` is read from `meta` (start_time/end_time, start_s/end_s, start/end or
    start_frame/end_frame, the first pair present); every start*/end* meta value is copied too.
    """
    row: Sample = {"id": data.sample_id(index)}
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


def class_counts(data: SequenceDataset, test: SequenceDataset | None) -> ClassCounts:
    """Counts per label and imbalance ratio (largest class / smallest present class)."""
    counts = np.bincount(data.labels, minlength=data.n_classes)
    present = counts[counts > 0]
    result: ClassCounts = {
        "counts": {name: int(count) for name, count in zip(data.label_names, counts)},
        "imbalance_ratio": float(present.max() / present.min()),
        "empty_classes": [name for name, count in zip(data.label_names, counts) if count == 0],
    }
    if test is not None and test.y is not None:
        test_names = np.asarray(test.label_names, dtype=object)[test.y]
        result["test_counts"] = {name: int(np.sum(test_names == name)) for name in data.label_names}
        result["test_only_classes"] = sorted(set(test_names) - set(data.label_names))
    return result


def length_summary(data: SequenceDataset) -> Lengths:
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


def channel_health(data: SequenceDataset) -> list[ChannelRow]:
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
    rows: list[ChannelRow] = []
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


def duplicates(data: SequenceDataset, test: SequenceDataset | None, near_rms: float) -> Duplicates:
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
    exact: list[Pair] = []
    near: list[Pair] = []

    def comparable(dataset: SequenceDataset) -> np.ndarray:
        return np.flatnonzero(missing_fraction(dataset) <= 0.5)

    def pair(left: SequenceDataset, i: int, right: SequenceDataset, j: int, rms: float | None = None) -> Pair:
        a, b = describe_sample(left, i), describe_sample(right, j)
        row: Pair = {"a": a, "b": b}
        if rms is not None:
            row["rms_distance"] = rms
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
                    near.append(pair(data, int(keep[neighbour[row, 0]]), test, int(test_keep[row]), float(rms[row])))
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
                        near.append(pair(data, a, data, b, float(rms)))
            near.sort(key=lambda row: row["rms_distance"])
    return {
        "scope": "train vs test" if test is not None else "within data, across groups",
        "near_rms_threshold": near_rms,
        "exact_count": len(exact),
        "near_count": len(near),
        "exact": exact[:MAX_LISTED],
        "near": near[:MAX_LISTED],
    }


def missing_samples(data: SequenceDataset) -> Missing:
    """Samples with no finite value (listed) and samples more than half NaN (counted)."""
    fraction = missing_fraction(data)
    empty = np.flatnonzero(fraction >= 1.0)
    return {
        "empty_count": int(empty.size),
        "mostly_missing_count": int(np.sum(fraction > 0.5)),
        "empty": [describe_sample(data, int(i)) for i in empty[:MAX_LISTED]],
    }


def group_leakage(data: SequenceDataset, test: SequenceDataset | None) -> Leakage | None:
    """Groups (videos, subjects) present in both train and test, with sample counts on each side."""
    if test is None or data.groups is None or test.groups is None:
        return None
    train_groups, train_counts = np.unique(data.groups, return_counts=True)
    test_groups, test_counts = np.unique(test.groups, return_counts=True)
    train_count = dict(zip(train_groups, train_counts))
    shared: list[SharedGroup] = [
        {"group": str(group), "train_samples": int(train_count[group]), "test_samples": int(count)}
        for group, count in zip(test_groups, test_counts)
        if group in train_count
    ]
    return {"shared_count": len(shared), "test_groups": len(test_groups), "shared": shared[:MAX_LISTED]}
