"""Training throughput of actrec (Lightning) against a plain PyTorch loop on the same model.

Both sides do the same work per epoch: shuffled mini-batches of the training split with AdamW
and a cosine schedule, then one pass over the validation split, then a checkpoint of the
weights. Prints training samples/s for both and the overhead of the framework (target <= 10%).

    python bench/train_throughput.py [--model inception|gru] [--epochs 4]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from actrec.data.dataset import SequenceDataset
from actrec.data.splits import holdout_split
from actrec.features.pipeline import Standardize
from actrec.models import build_model
from actrec.recognizers import Recognizer
from actrec.training.data import pad_collate


def make_data(n: int, steps: int, features: int, classes: int) -> SequenceDataset:
    rng = np.random.default_rng(0)
    y = np.arange(n) % classes
    t = np.linspace(0, 1, steps)
    X = np.sin(2 * np.pi * (y[:, None, None] + 1) * t[None, :, None]) + rng.normal(scale=0.5, size=(n, steps, features))
    return SequenceDataset(
        X=X.astype(np.float32), lengths=np.full(n, steps), y=y, label_names=[str(c) for c in range(classes)]
    )


def plain_loop(
    train: SequenceDataset,
    val: SequenceDataset,
    model_name: str,
    options: dict,
    epochs: int,
    batch_size: int,
    folder: Path,
) -> float:
    """The loop people write by hand; returns seconds."""
    torch.manual_seed(0)
    scaler = Standardize().fit(train.X, train.lengths)
    x_train = torch.from_numpy(scaler.transform(train.X, train.lengths))
    x_val = torch.from_numpy(scaler.transform(val.X, val.lengths))
    y_train, y_val = torch.from_numpy(train.y), torch.from_numpy(val.y)
    l_train, l_val = torch.from_numpy(train.lengths), torch.from_numpy(val.lengths)
    network = build_model(model_name, x_train.shape[-1], train.n_classes, options)
    optimizer = torch.optim.AdamW(network.parameters(), lr=1e-3, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    loss_fn = torch.nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(0)
    start = time.perf_counter()
    for _ in range(epochs):
        network.train()
        order = torch.randperm(len(y_train), generator=generator)
        for first in range(0, len(order), batch_size):
            index = order[first : first + batch_size]
            x, lengths, y = pad_collate([(x_train[i], l_train[i], y_train[i]) for i in index])
            optimizer.zero_grad()
            loss = loss_fn(network(x, lengths), y)
            loss.backward()
            optimizer.step()
        schedule.step()
        network.eval()
        with torch.no_grad():
            for first in range(0, len(y_val), 256):
                loss_fn(network(x_val[first : first + 256], l_val[first : first + 256]), y_val[first : first + 256])
        torch.save(network.state_dict(), folder / "plain.pt")
    return time.perf_counter() - start


def actrec_fit(
    train: SequenceDataset,
    val: SequenceDataset,
    model_name: str,
    options: dict,
    epochs: int,
    batch_size: int,
    folder: Path,
) -> float:
    recognizer = Recognizer(
        model_name,
        model_options=options,
        epochs=epochs,
        batch_size=batch_size,
        class_weight=None,
        patience=epochs + 1,
        seed=0,
    )
    start = time.perf_counter()
    recognizer.fit(train, validation=val, work_dir=folder)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="inception")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    options = {"filters": 16, "depth": 3} if args.model == "inception" else {}
    data = make_data(args.samples, args.steps, 6, 5)
    keep, hold = holdout_split(data, 0.2, seed=0)
    train, val = data.subset(keep), data.subset(hold)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        # warm both paths once (allocator, thread pools), then time them alternately
        plain_loop(train, val, args.model, options, 1, 64, folder)
        times_plain, times_actrec = [], []
        for _ in range(3):
            times_plain.append(plain_loop(train, val, args.model, options, args.epochs, 64, folder))
            times_actrec.append(actrec_fit(train, val, args.model, options, args.epochs, 64, folder))
    samples = train.n_samples * args.epochs
    plain, ours = samples / min(times_plain), samples / min(times_actrec)
    print(
        f"model={args.model} train samples={train.n_samples} epochs={args.epochs} T={args.steps} F=6 threads={args.threads}"
    )
    print(f"plain PyTorch loop : {plain:9.1f} samples/s")
    print(f"actrec (Lightning) : {ours:9.1f} samples/s")
    print(f"framework overhead : {100 * (plain / ours - 1):+.1f}%  (target <= +10%)")


if __name__ == "__main__":
    main()
