"""Per-frame latency of live recognition: the naive full-window forward against actrec streaming.

For the default model (auto: MiniRocket with level kernels), inception and a GRU64+GRU32 stack, at two
shapes: window 30 x 99 features (21 hand joints x 4 + 15 angles, the sign-language layout) and
window 250 x 6 (a 5 s wrist IMU window at 50 Hz), one CPU thread: median and p99 microseconds per
frame of
  naive        eager PyTorch forward of the whole window at every frame (on the first
               `--naive-frames` frames: it is the slow path),
  actrec       `Streamer.push` with its default runtime (features, model, decision rules: the
               kernel model's running sums or the GRU's state bank, onnxruntime on the window for
               the others),
  actrec-torch `Streamer(runtime="torch")`, actrec-onnx `Streamer(runtime="onnx")` (also on the
               first `--naive-frames` frames),
and the ratio naive / actrec. Weights come from a fit on random windows (latency does not depend on
them). Acceptance (issue 17): the default at 30 x 99 <= 100 us and at 250 x 6 <= 200 us median.

    python bench/stream.py [--frames 3000] [--naive-frames 300] [--shapes 30x99 250x6]
"""

from __future__ import annotations

import argparse
import os
import time
from collections import deque

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from actrec.recognizers import Recognizer
from actrec.stream.engine import Streamer

N_CLASSES = 10
MODELS = {
    "auto (default)": ("auto", {}),
    "inception": ("inception", {}),
    "gru64+gru32": ("gru", {"hidden_sizes": [64, 32], "dense": []}),
}


def untrained_recognizer(
    model: str, options: dict, window: int, n_features: int, rng: np.random.Generator
) -> Recognizer:
    """A Recognizer fitted for one epoch on random windows: real pipeline and save format,
    weights as good as untrained."""
    X = rng.normal(size=(64, window, n_features)).astype(np.float32)
    y = np.arange(64) % N_CLASSES
    return Recognizer(model=model, model_options=options, epochs=1, seed=0).fit(X, y)


def percentiles_us(seconds: list[float], warmup: int) -> tuple[float, float]:
    values = np.asarray(seconds[warmup:]) * 1e6
    return float(np.median(values)), float(np.percentile(values, 99))


def naive_latency(recognizer: Recognizer, frames: np.ndarray) -> list[float]:
    """What people write: keep 30 frames, standardize, run the network on the whole window."""
    window: deque[np.ndarray] = deque(maxlen=recognizer.window_length)
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
    streamer = Streamer(recognizer, runtime=runtime)
    times = []
    for frame in frames:
        start = time.perf_counter()
        streamer.push(frame)
        times.append(time.perf_counter() - start)
    return times, f"{streamer.mode} ({streamer.runtime})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=3000)
    parser.add_argument("--naive-frames", type=int, default=300)
    parser.add_argument("--shapes", nargs="+", default=["30x99", "250x6"], help="WINDOWxFEATURES")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    print(
        f"per-frame latency, one CPU thread, {args.frames} frames for actrec ({args.naive_frames} for the naive "
        f"and graph paths), first tenth dropped as warm-up; load average {os.getloadavg()[0]:.2f}"
    )
    print("| window x features | model | path | mode | median us | p99 us | naive / path (median) |")
    print("|---|---|---|---|---:|---:|---:|")
    with threadpool_limits(1):
        for shape in args.shapes:
            window, n_features = (int(v) for v in shape.split("x"))
            frames = rng.normal(size=(args.frames, n_features)).astype(np.float32)
            for label, (model, options) in MODELS.items():
                recognizer = untrained_recognizer(model, options, window, n_features, rng)
                short = frames[: args.naive_frames]
                naive_median, naive_p99 = percentiles_us(naive_latency(recognizer, short), len(short) // 10)
                print(
                    f"| {shape} | {label} | naive eager torch | full window | {naive_median:.1f} | {naive_p99:.1f} | 1.0x |"
                )
                for runtime in ("auto", "torch", "onnx"):
                    session = frames if runtime == "auto" else short
                    times, mode = streamer_latency(recognizer, session, runtime)
                    median, p99 = percentiles_us(times, len(session) // 10)
                    name = "actrec" if runtime == "auto" else f"actrec-{runtime}"
                    print(
                        f"| {shape} | {label} | {name} | {mode} | {median:.1f} | {p99:.1f} | {naive_median / median:.1f}x |"
                    )


if __name__ == "__main__":
    main()
