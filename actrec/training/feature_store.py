"""Kernel features of a split held in bounded memory, for the closed-form fits (`kernels.py`).

A MultiRocket-Hydra window of 60 steps has about 17,700 features (70 KB in float32), so
holding them for every sample is what made memory grow with N: 200,000 windows need 14 GB.
Here the input is read a batch at a time (`FeatureBatches`: an array, a memory-mapped `.npy`,
or raw input passed through the feature pipeline per batch), each batch's kernel features are
computed once, their moments accumulated (`RunningMoments`: the standardisation needs no second
pass), and the rows are kept in memory while they fit the budget, else written to a temporary
file and read back a group of blocks at a time (`FeatureStore.shuffled`). The file is read with
`os.pread`, not mapped: mapped pages that were read count in the process's resident memory,
which is the figure this bounds.
In memory or on disk, the rows read back are the same bytes, so a fit does not depend on where
its features lived. Inside `actrec.cluster.on_ray` the kernel transform runs as Ray tasks and the
rows come back in order: the same numbers again, with the head fitted on the driver.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from typing import Protocol

import numpy as np
import torch

from actrec.errors import ActrecError, DataError
from actrec.models.rocket import RocketNet

BATCH = 64  # samples per kernel transform: the [B, 84, b, T] pooling intermediates stay small
READ_ROWS = 4096  # rows per chunk when a whole split is read back (validation scores)
# `FeatureStore.shuffled`: rows are shuffled in blocks of SHUFFLE_BLOCK consecutive rows (one read
# each), SHUFFLE_BLOCKS random blocks at a time; random single-row reads of a 40 GB file ran at
# 230 MB/s on this disk against 840 MB/s for reads of 4,096 rows (both with a cold cache)
SHUFFLE_BLOCK = 64
SHUFFLE_BLOCKS = 64
RAY_TASK_BYTES = 32 * 2**20  # raw features one Ray task returns, about (`_raw_batches_on_ray`)


class FeatureBatches(Protocol):
    """Featurised input `[N, T, F]` float32 read some rows at a time, and every sample's length."""

    lengths: np.ndarray
    n_steps: int

    def __len__(self) -> int: ...

    def rows(self, index: np.ndarray) -> np.ndarray:
        """float32 `[len(index), T, F]` for the samples at `index` (any order, repeats allowed)."""
        ...


class ArrayBatches:
    """An array (or a memory-mapped one) that is already featurised."""

    def __init__(self, X: np.ndarray, lengths: np.ndarray) -> None:
        self.X, self.lengths, self.n_steps = X, np.asarray(lengths, dtype=np.int64), int(X.shape[1])

    def __len__(self) -> int:
        return len(self.lengths)

    def rows(self, index: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(self.X[index], dtype=np.float32)


class TransformedBatches:
    """Raw input (`[N, T, ...]`, possibly memory-mapped) featurised a batch at a time by a fitted
    pipeline's `transform`, so the featurised copy of the whole split never exists. Non-finite
    features are refused naming the sample, as `Recognizer.features` does for whole arrays."""

    def __init__(
        self,
        X: np.ndarray,
        lengths: np.ndarray,
        transform: Callable[[np.ndarray, np.ndarray], np.ndarray],
        ids: np.ndarray,
        source: str,
    ) -> None:
        self.X, self.lengths, self.n_steps = X, np.asarray(lengths, dtype=np.int64), int(X.shape[1])
        self.transform, self.ids, self.source = transform, ids, source

    def __len__(self) -> int:
        return len(self.lengths)

    def rows(self, index: np.ndarray) -> np.ndarray:
        features = self.transform(np.asarray(self.X[index], dtype=np.float32), self.lengths[index])
        bad = ~np.isfinite(features).reshape(len(index), -1).all(1)
        if bad.any():
            raise DataError(
                f"{self.source}: sample {self.ids[index[np.argmax(bad)]]} gives non-finite features; check it for NaN or inf values"
            )
        return np.ascontiguousarray(features, dtype=np.float32)


def slices(n: int, size: int) -> Iterator[np.ndarray]:
    """Consecutive index ranges `[start, start + size)` covering `range(n)`."""
    for start in range(0, n, size):
        yield np.arange(start, min(start + size, n))


def raw_batches(network: RocketNet, batches: FeatureBatches) -> Iterator[np.ndarray]:
    """Raw kernel features `[b, n]` float64 of `BATCH` samples at a time, in order; inside
    `actrec.cluster.on_ray`, computed as Ray tasks (`_raw_batches_on_ray`)."""
    from actrec.cluster import tasks_address

    address = tasks_address()
    if address is not None:
        yield from _raw_batches_on_ray(address, network, batches)
        return
    for index in slices(len(batches), BATCH):
        yield _raw(network, batches.rows(index), batches.lengths[index])


@torch.no_grad()
def _raw(network: RocketNet, x: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    return network.raw_features(torch.from_numpy(x), torch.from_numpy(lengths)).numpy()


def _raw_task(network: RocketNet, x: np.ndarray, lengths: np.ndarray, batch: int) -> np.ndarray:
    """Ray task: raw features `[len(x), n]` float64 of featurised input, `batch` samples at a
    time as `raw_batches` computes them here, so each batch's numbers are the local run's."""
    return np.concatenate([_raw(network, x[index], lengths[index]) for index in slices(len(x), batch)])


def _raw_batches_on_ray(address: str, network: RocketNet, batches: FeatureBatches) -> Iterator[np.ndarray]:
    """`raw_batches` with the kernel transform as Ray tasks of `BATCH`-multiples holding about
    `RAY_TASK_BYTES` of features each: the driver featurises the input (cheap), sends the network
    once, and takes the results back in order, so running moments and stores fold the same rows
    in the same order as a local fit."""
    from actrec.cluster import failure_line, run_on_ray

    per_task = max(1, RAY_TASK_BYTES // (BATCH * 8 * int(network.sparse.numel()))) * BATCH
    jobs = ((batches.rows(index), batches.lengths[index], BATCH) for index in slices(len(batches), per_task))
    for _, raw, error in run_on_ray(address, _raw_task, jobs, shared=(network,), in_order=True):
        if error is not None:
            raise ActrecError(f"kernel features on the Ray cluster at {address}: a task failed ({failure_line(error)})")
        for start in range(0, len(raw), BATCH):
            yield raw[start : start + BATCH]


class RunningMoments:
    """Per-feature count, mean, sum of squared deviations and zeros over batches (Chan et al.'s
    pairwise update, float64): the mean and standard deviation of all rows without holding them."""

    def __init__(self, width: int) -> None:
        self.count = 0
        self.mean = np.zeros(width)
        self.squares = np.zeros(width)
        self.zeros = np.zeros(width, dtype=np.int64)

    def add(self, rows: np.ndarray) -> None:
        n = len(rows)
        if n == 0:
            return
        mean = rows.mean(0, dtype=np.float64)
        squares = ((rows - mean) ** 2).sum(0, dtype=np.float64)
        total = self.count + n
        delta = mean - self.mean
        self.mean = self.mean + delta * (n / total)
        self.squares = self.squares + squares + delta**2 * (self.count * n / total)
        self.zeros += (rows == 0).sum(0)
        self.count = total

    @property
    def std(self) -> np.ndarray:
        return np.sqrt(self.squares / max(self.count, 1))

    @property
    def zero_share(self) -> np.ndarray:
        return self.zeros / max(self.count, 1)


class FeatureStore:
    """Raw kernel features `[N, n]` float32 of one split, computed once, batch by batch; in memory
    when `N * n * 4` bytes fit `budget_bytes`, else in a float32 file under `directory`.
    `moments` holds their running moments. Close it (or use it as a context manager) to delete the file."""

    def __init__(
        self, network: RocketNet, batches: FeatureBatches, budget_bytes: int, directory: str | None = None
    ) -> None:
        self.n, self.width = len(batches), int(network.sparse.numel())
        self.row_bytes = self.width * 4
        self.in_memory = self.n * self.row_bytes <= budget_bytes
        self.moments = RunningMoments(self.width)
        self._array: np.ndarray | None = np.empty((self.n, self.width), np.float32) if self.in_memory else None
        self._file = None if self.in_memory else tempfile.TemporaryFile(prefix="actrec-features-", dir=directory)  # noqa: SIM115 (closed by close())
        start = 0
        for raw in raw_batches(network, batches):
            rows = raw.astype(np.float32)
            self.moments.add(rows)
            if self._array is not None:
                self._array[start : start + len(rows)] = rows
            elif self._file is not None:
                self._file.write(rows.tobytes())
            start += len(rows)
        if self._file is not None:
            self._file.flush()

    @property
    def memory_bytes(self) -> int:
        """Bytes of features this store holds in memory."""
        return 0 if self._array is None else self._array.nbytes

    def shuffled(self, generator: torch.Generator, size: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """One epoch of minibatches `(row indices, their rows)` of at most `size` rows, in an order
        drawn from `generator`: blocks of `SHUFFLE_BLOCK` consecutive rows in random order,
        `SHUFFLE_BLOCKS` of them shuffled together row by row, so a minibatch mixes rows from up
        to `SHUFFLE_BLOCKS` places of the split while a file is read in long runs (the next
        group of blocks is read while this one is used). The order does not depend on where the
        rows live, so in memory and on disk a fit sees the same minibatches."""
        blocks = [np.arange(start, min(start + SHUFFLE_BLOCK, self.n)) for start in range(0, self.n, SHUFFLE_BLOCK)]
        order = torch.randperm(len(blocks), generator=generator).numpy()
        groups = [
            np.concatenate([blocks[b] for b in order[start : start + SHUFFLE_BLOCKS]])
            for start in range(0, len(blocks), SHUFFLE_BLOCKS)
        ]
        if self._array is not None:  # in memory: each minibatch indexed directly, no group copy
            for group in groups:
                for part in torch.randperm(len(group), generator=generator).split(size):
                    yield group[part.numpy()], self._array[group[part.numpy()]]
            return
        with ThreadPoolExecutor(max_workers=1) as reader:
            pending = reader.submit(self._group_rows, groups[0]) if groups else None
            for at, group in enumerate(groups):
                assert pending is not None
                rows = pending.result()
                pending = reader.submit(self._group_rows, groups[at + 1]) if at + 1 < len(groups) else None
                for part in torch.randperm(len(group), generator=generator).split(size):
                    yield group[part.numpy()], rows[part.numpy()]

    def _group_rows(self, group: np.ndarray) -> np.ndarray:
        """The rows of `group` (whole blocks of consecutive rows), one read per block from the file."""
        out = np.empty((len(group), self.width), np.float32)
        starts = np.append(np.flatnonzero(group % SHUFFLE_BLOCK == 0), len(group))  # the last block may be short
        for start, stop in pairwise(starts):
            self._read(out[start:stop].data.cast("B"), int(group[start]))
        return out

    def chunks(self) -> Iterator[np.ndarray]:
        """All rows in order, `READ_ROWS` at a time (one read each from a file)."""
        for index in slices(self.n, READ_ROWS):
            if self._array is not None:
                yield self._array[index[0] : index[-1] + 1]
                continue
            out = np.empty((len(index), self.width), np.float32)
            self._read(out.data.cast("B"), int(index[0]))
            yield out

    def _read(self, into: memoryview, row: int) -> None:
        assert self._file is not None  # rows beyond the memory budget live in the file
        if os.preadv(self._file.fileno(), [into], row * self.row_bytes) != len(into):
            raise OSError(f"feature file ended before row {row}; the temporary directory may be full")

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self._array = None

    def __enter__(self) -> FeatureStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
