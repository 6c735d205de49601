"""What a model costs at inference: parameters and per-window CPU latency.

Latency is the median over repeated forwards of ONE window on ONE thread: that is what a live
stream pays per decision, and the median shrugs off the other processes sharing the machine.
"""

from __future__ import annotations

import time

import numpy as np
import torch


def parameter_count(network: torch.nn.Module) -> int:
    return int(sum(p.numel() for p in network.parameters()))


def window_latency_us(
    network: torch.nn.Module, window_length: int, n_features: int, repeats: int = 50, warmup: int = 5
) -> float:
    """Median microseconds of `network(x [1, window_length, n_features], lengths [1])` on 1 thread."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    was_training = network.training
    network.eval()
    x = torch.randn(1, window_length, n_features, generator=torch.Generator().manual_seed(0))
    lengths = torch.tensor([window_length], dtype=torch.long)
    times = []
    try:
        with torch.inference_mode():
            for index in range(warmup + repeats):
                start = time.perf_counter_ns()
                network(x, lengths)
                if index >= warmup:
                    times.append(time.perf_counter_ns() - start)
    finally:
        torch.set_num_threads(threads)
        network.train(was_training)
    return float(np.median(times) / 1000.0)
