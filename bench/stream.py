"""Per-frame latency of live recognition: the naive full-window forward against actrec streaming.

For the default model (auto: multirocket + inception), multirocket, inception and a GRU64+GRU32
stack on 99-feature frames (21 hand joints x
4 + 15 angles, the sign-language layout), window 30, one CPU thread: median and p99 microseconds
per frame of
  naive        eager PyTorch forward of the whole 30-frame window at every frame,
  actrec       `Streamer.push` with its default runtime (features, model, decision rules; the
               NumPy state bank for the GRU, onnxruntime on the window for the others),
  actrec-torch `Streamer(runtime="torch")`, actrec-onnx `Streamer(runtime="onnx")`,
and the ratio naive / actrec. Weights are untrained (latency does not depend on them).

    python bench/stream.py [--frames 3000]
"""

from __future__ import annotations

import argparse
import os
import time
from collections import deque

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from actrec.recognizer import Recognizer
from actrec.stream.engine import Streamer

N_FEATURES, WINDOW, N_CLASSES = 99, 30, 10
MODELS = {
    "auto (default)": ("auto", {}),
    "multirocket": ("multirocket", {}),
    "inception": ("inception", {}),
    "gru64+gru32": ("gru", {"hidden_sizes": [64, 32], "dense": []}),
}


def untrained_recognizer(model: str, options: dict, rng: np.random.Generator) -> Recognizer:
    """A Recognizer fitted for one epoch on random windows: real pipeline and save format,
    weights as good as untrained."""
    X = rng.normal(size=(64, WINDOW, N_FEATURES)).astype(np.float32)
    y = np.arange(64) % N_CLASSES
    return Recognizer(model=model, model_options=options, epochs=1, seed=0).fit(X, y)


def percentiles_us(seconds: list[float], warmup: int) -> tuple[float, float]:
    values = np.asarray(seconds[warmup:]) * 1e6
    return float(np.median(values)), float(np.percentile(values, 99))


def naive_latency(recognizer: Recognizer, frames: np.ndarray) -> list[float]:
    """What people write: keep 30 frames, standardize, run the network on the whole window."""
    window: deque[np.ndarray] = deque(maxlen=WINDOW)
    network, pipeline = recognizer.network, recognizer.pipeline
    times = []
    for frame in frames:
        start = time.perf_counter()
        window.append(frame)
        x = pipeline.transform(np.stack(window)[None], np.array([len(window)]))
        with torch.inference_mode():
            torch.softmax(network(torch.from_numpy(x)), dim=1).numpy()
        times.append(time.perf_counter() - start)
    return times


def streamer_latency(recognizer: Recognizer, frames: np.ndarray, runtime: str) -> tuple[list[float], str]:
    streamer = Streamer(recognizer, window=WINDOW, runtime=runtime)
    times = []
    for frame in frames:
        start = time.perf_counter()
        streamer.push(frame)
        times.append(time.perf_counter() - start)
    return times, f"{streamer.mode} ({streamer.runtime})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=3000)
    args = parser.parse_args()
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    frames = rng.normal(size=(args.frames, N_FEATURES)).astype(np.float32)
    warmup = min(200, args.frames // 10)
    print(f"per-frame latency, {N_FEATURES} features, window {WINDOW}, one CPU thread, untrained weights, "
          f"{args.frames} frames ({warmup} warm-up dropped); load average {os.getloadavg()[0]:.2f}")
    print("| model | path | mode | median us | p99 us | naive / path (median) |")
    print("|---|---|---|---:|---:|---:|")
    with threadpool_limits(1):
        for label, (model, options) in MODELS.items():
            recognizer = untrained_recognizer(model, options, rng)
            naive_median, naive_p99 = percentiles_us(naive_latency(recognizer, frames), warmup)
            print(f"| {label} | naive eager torch | full window | {naive_median:.1f} | {naive_p99:.1f} | 1.0x |")
            for runtime in ("auto", "torch", "onnx"):
                times, mode = streamer_latency(recognizer, frames, runtime)
                median, p99 = percentiles_us(times, warmup)
                name = "actrec" if runtime == "auto" else f"actrec-{runtime}"
                print(f"| {label} | {name} | {mode} | {median:.1f} | {p99:.1f} | {naive_median / median:.1f}x |")


if __name__ == "__main__":
    main()
