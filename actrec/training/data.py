"""Torch datasets and the DataModule: featurised windows in, padded batches out."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler, WeightedRandomSampler


class ArrayDataset(Dataset):
    """Precomputed features `[N, T, F]` with lengths and labels; no work per item."""

    def __init__(self, X: np.ndarray, lengths: np.ndarray, y: np.ndarray) -> None:
        self.X = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
        self.lengths = torch.from_numpy(np.asarray(lengths, dtype=np.int64))
        self.y = torch.from_numpy(np.asarray(y, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.X[index], self.lengths[index], self.y[index]


class AugmentedDataset(Dataset):
    """Raw samples augmented afresh each epoch, then featurised by the fitted pipeline.

    `featurise(x [1, T, ...], lengths [1]) -> [1, T', F]`; `augment(x, length, rng)` returns a new
    raw sample and length. The generator is seeded per (epoch seed, index) so runs reproduce.
    """

    def __init__(
        self, X_raw: np.ndarray, lengths: np.ndarray, y: np.ndarray, augment: Callable, featurise: Callable, seed: int
    ) -> None:
        self.X_raw, self.lengths, self.y = X_raw, np.asarray(lengths), np.asarray(y)
        self.augment, self.featurise, self.seed = augment, featurise, seed
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        rng = np.random.default_rng([self.seed, self.epoch, index])
        length = int(self.lengths[index])
        x, length = self.augment(self.X_raw[index, :length].copy(), length, rng)
        features = self.featurise(x[None], np.array([length]))[0, :length]
        return torch.from_numpy(features), torch.tensor(length), torch.tensor(int(self.y[index]))


def pad_collate(
    batch: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]],
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Stack items, padding each to the longest valid length in the batch."""
    lengths = torch.stack([item[1] for item in batch])
    steps = int(lengths.max())
    features = batch[0][0].shape[-1]
    x = torch.zeros(len(batch), steps, features)
    for row, (sample, length, _) in enumerate(batch):
        x[row, : int(length)] = sample[: int(length)]
    return x, lengths, torch.stack([item[2] for item in batch])


class SequenceDataModule(L.LightningDataModule):
    """Train and validation loaders; `balanced` swaps shuffling for class-balanced sampling.

    `generator` draws every epoch's order; its state travels in the checkpoint (`RunState`), so
    a resumed run draws the epochs a straight run would have.
    """

    def __init__(
        self, train: Dataset, val: Dataset, batch_size: int, seed: int, balanced: bool, train_labels: np.ndarray
    ) -> None:
        super().__init__()
        self.train, self.val = train, val
        self.batch_size, self.seed, self.balanced = batch_size, seed, balanced
        self.train_labels = train_labels
        self.generator = torch.Generator().manual_seed(seed)

    def train_dataloader(self) -> DataLoader:
        if self.balanced:
            counts = np.bincount(self.train_labels)
            weights = 1.0 / counts[self.train_labels]
            sampler = WeightedRandomSampler(
                torch.as_tensor(weights, dtype=torch.double),  # type: ignore[arg-type]  # torch's hint says Sequence[float]; it takes a tensor
                len(weights),
                generator=self.generator,
            )
            return DataLoader(self.train, batch_size=self.batch_size, sampler=sampler, collate_fn=pad_collate)
        return DataLoader(
            self.train, batch_size=self.batch_size, shuffle=True, generator=self.generator, collate_fn=pad_collate
        )

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self.val, batch_size=max(self.batch_size, 256), collate_fn=pad_collate)


class EpochOrder(Sampler[int]):
    """A shuffled order of `count` items, one `randperm` from `generator` per epoch, drawn when
    the epoch's first index is asked for.

    torch's RandomSampler draws a second permutation when it is read past its end; a loader with
    workers reads ahead past the end of the epoch, one without does not, so the generator, and
    every later epoch's order, depended on the number of workers."""

    def __init__(self, count: int, generator: torch.Generator) -> None:
        self.count, self.generator = count, generator

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[int]:
        yield from torch.randperm(self.count, generator=self.generator).tolist()


class StackedDataModule(L.LightningDataModule):
    """Train and validation loaders of items that share one shape (clips `[3, T, S, S]`),
    stacked, decoded and augmented by `workers` DataLoader processes.

    `generator` draws every epoch's order (`EpochOrder`: the same whatever the number of workers
    and however far they read ahead; its state travels in the checkpoint). Workers start afresh
    each epoch, so they copy the epoch number an augmenting dataset draws its noise from
    (persistent workers would keep the first epoch's). A last batch of one item is dropped: batch
    norm cannot train on it.
    """

    def __init__(self, train: Dataset, val: Dataset, batch_size: int, seed: int, workers: int = 0) -> None:
        super().__init__()
        self.train, self.val = train, val
        self.batch_size, self.workers = batch_size, workers
        self.generator = torch.Generator().manual_seed(seed)

    def train_dataloader(self) -> DataLoader:
        drop_last = len(self.train) > self.batch_size  # type: ignore[arg-type]
        return DataLoader(
            self.train,
            batch_size=self.batch_size,
            sampler=EpochOrder(len(self.train), self.generator),  # type: ignore[arg-type]
            generator=self.generator,
            drop_last=drop_last,
            num_workers=self.workers,
        )

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self.val, batch_size=self.batch_size, num_workers=self.workers)
