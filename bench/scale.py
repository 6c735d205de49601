"""Training on many windows: wall time, peak memory and test accuracy as N grows.

    python bench/scale.py [--sizes 1000 10000 100000 1000000] [--models minirocket auto]
                          [--default-max 200000] [--aeon-max 10000] [--threads 1] [--work DIR]
                          [--ray local|ADDRESS] [--ray-max 100000] [--seeds 3] [--seeds-n 10000]

Generated wrist-IMU windows of 60 steps x 6 channels, 7 activities (bench/sensor_windows.py),
written chunk by chunk into array folders (`actrec/io/array_folder.py`: X.npy memory-mapped), so
generating a million windows never holds them all. Train subjects 0-39, test subjects 40-49
(2,000 test windows). Each fit runs in its own process, which loads the folder, fits
`Recognizer(model, seed=0)` (its own group-aware validation split) and scores the test windows;
its peak RSS is what `os.wait4` reports for that process alone. aeon's MiniRocket (numba, one
thread) runs on the same windows up to `--aeon-max` (it holds every feature in memory: 24,000
windows did not finish in 15 minutes at 6.5 GiB), stopped after `--aeon-timeout` seconds.

Printed as one table: per model and N, the wall time, seconds per 1,000 windows and its ratio to
the same model's 10,000-window run (the baseline of this run; the smallest N when 10,000 is not
run), peak RSS and test accuracy. Acceptance (issue 23): minirocket on 1,000,000 windows and
the default (`auto`) on 200,000, each with peak RSS <= 8 GiB and seconds per window within 1.5x
of the 10,000 run's.

`--ray`: each kernel model also fitted with its kernel transform as Ray tasks (`actrec.cluster.on_ray`;
`local` starts Ray inside the fit's process with 2 CPUs), the head on the driver: rows `MODEL [ray]`,
and a line saying whether its test accuracy equals the local fit's. `--seeds K`: minirocket on
`--seeds-n` windows with seeds 0..K-1, batched (memory_mb=0: no feature held, all in a temporary
file) and in memory, test accuracy mean ± std.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

STEPS = 60
CHUNK = 5000  # windows generated at a time
TRAIN_SUBJECTS, TEST_SUBJECTS = range(0, 40), range(40, 50)
TEST_WINDOWS = 2000
GIB = 2**30


def generate(folder: Path, n: int, subjects: range, seed: int) -> Path:
    """`n` windows into an array folder, `CHUNK` at a time (each chunk its own seed)."""
    from sensor_windows import sensor_windows

    from actrec.io.array_folder import ArrayFolderWriter, is_array_folder

    if is_array_folder(folder):
        return folder
    writer = ArrayFolderWriter(folder, n, (STEPS, 6))
    y, groups, first = [], [], None
    for index, start in enumerate(range(0, n, CHUNK)):
        part = sensor_windows(min(CHUNK, n - start), subjects, STEPS, seed * 100_000 + index)
        writer.write(part.X)
        y.append(part.y)
        groups.append(part.groups.astype(str))
        first = first or part
    ids = np.char.add("w", np.arange(n).astype(str))
    return writer.finish(
        lengths=np.full(n, STEPS),
        y=np.concatenate(y),
        label_names=np.asarray(first.label_names),
        groups=np.concatenate(groups),
        ids=ids,
        feature_names=np.asarray(first.feature_names),
        sample_rate_hz=np.float64(first.sample_rate_hz),
    )


VARIANTS = {
    # --seeds: the fit whose features are never held (every one in a temporary file, read back a
    # minibatch at a time) against the one holding them all in memory
    "batched": {"memory_mb": 0},
    "in memory": {"memory_mb": 1 << 20},
}


def child(model: str, train: str, test: str, threads: int, seed: int, options: dict, ray: str | None) -> dict:
    """One fit in this process: seconds to load + fit, and test accuracy. `ray`: the kernel
    transform as tasks on that Ray cluster (`local`: one started here, two CPUs), the head here."""
    import contextlib

    import torch

    from actrec.data.loading import load_dataset

    torch.set_num_threads(threads)
    where: contextlib.AbstractContextManager = contextlib.nullcontext()
    if ray:
        import ray as ray_module

        from actrec.cluster import on_ray

        if ray == "local":
            ray_module.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        where = on_ray(ray)
    start = time.perf_counter()
    data, held_out = load_dataset(train), load_dataset(test)
    if model == "aeon-minirocket":
        from aeon.classification.convolution_based import MiniRocketClassifier

        classifier = MiniRocketClassifier(random_state=seed, n_jobs=threads)
        classifier.fit(np.asarray(data.X).transpose(0, 2, 1).astype(np.float64), data.y)
        fitted = time.perf_counter() - start
        predicted = classifier.predict(np.asarray(held_out.X).transpose(0, 2, 1).astype(np.float64))
        head = "ridge (aeon)"
    else:
        from actrec.recognizers import Recognizer

        with where:
            recognizer = Recognizer(model, model_options=options or None, seed=seed).fit(data)
        fitted = time.perf_counter() - start
        predicted = recognizer.predict_proba(held_out).argmax(1)
        network = recognizer.network.members[0] if hasattr(recognizer.network, "members") else recognizer.network
        summary = getattr(network, "fitted_summary", {})
        head = summary.get("head", "?") + ("" if summary.get("features_in_memory", True) else " (features on disk)")
    return {"fit_s": fitted, "accuracy": float((np.asarray(predicted) == held_out.y).mean()), "head": head}


def measure(
    model: str,
    train: Path,
    test: Path,
    threads: int,
    timeout_s: float | None = None,
    seed: int = 0,
    options: dict | None = None,
    ray: str | None = None,
) -> dict:
    """Run `child` in a fresh process; its own peak RSS from wait4 (with `ray`, the driver's: the
    Ray workers are not its children). A run past `timeout_s` is stopped and reported as such
    (aeon's, which may not finish)."""
    env = os.environ | {
        "OMP_NUM_THREADS": str(threads),
        "OPENBLAS_NUM_THREADS": str(threads),
        "MKL_NUM_THREADS": str(threads),
        "NUMBA_NUM_THREADS": str(threads),
        "PYTHONPATH": str(HERE.parent),
    }
    start = time.perf_counter()
    command = [sys.executable, __file__, "--child", model, str(train), str(test), "--threads", str(threads)]
    command += ["--seed", str(seed), "--options", json.dumps(options or {})] + (["--ray", ray] if ray else [])
    process = subprocess.Popen(command, stdout=subprocess.PIPE, env=env, text=True)
    timer = threading.Timer(timeout_s, process.kill) if timeout_s else None
    if timer:
        timer.start()
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    if timer:
        timer.cancel()
    if status != 0:
        stopped = timeout_s is not None and wall >= timeout_s
        return {
            "wall_s": wall,
            "rss_gib": usage.ru_maxrss * 1024 / GIB,
            "error": f"stopped at {timeout_s:.0f} s" if stopped else f"exit status {status}",
        }
    return json.loads(output.strip().splitlines()[-1]) | {"wall_s": wall, "rss_gib": usage.ru_maxrss * 1024 / GIB}


def print_row(model: str, n: int, result: dict) -> None:
    print(
        f"  {model} n={n}: "
        + ", ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}" for k, v in result.items()),
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000, 200_000, 1_000_000])
    parser.add_argument("--models", nargs="+", default=["minirocket", "auto"])
    parser.add_argument("--default-max", type=int, default=200_000, help="largest N for auto (the default)")
    parser.add_argument("--aeon-max", type=int, default=10_000, help="largest N for aeon's MiniRocket (0: never)")
    parser.add_argument(
        "--aeon-timeout", type=float, default=900.0, help="seconds before an aeon run is stopped (reported as such)"
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--ray",
        metavar="ADDRESS",
        help="also fit each kernel model with its kernel transform as Ray tasks there (local: a Ray started in the fit's process, 2 CPUs); up to --ray-max windows",
    )
    parser.add_argument("--ray-max", type=int, default=100_000, help="largest N fitted on Ray")
    parser.add_argument(
        "--seeds",
        type=int,
        default=0,
        help="also fit minirocket on the --seeds-n windows with this many seeds, batched (no feature held) and in memory: test accuracy mean ± std",
    )
    parser.add_argument("--seeds-n", type=int, default=10_000)
    parser.add_argument(
        "--work", default="/tmp/actrec-bench-scale", help="where the generated array folders live (kept for reruns)"
    )
    parser.add_argument("--child", nargs=3, metavar=("MODEL", "TRAIN", "TEST"), help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--options", default="{}", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(*args.child, args.threads, args.seed, json.loads(args.options), args.ray)))
        return

    work = Path(args.work)
    test = generate(work / f"test-{TEST_WINDOWS}", TEST_WINDOWS, TEST_SUBJECTS, seed=1)
    rows = []
    for n in sorted(args.sizes):
        train = generate(work / f"train-{n}", n, TRAIN_SUBJECTS, seed=0)
        runs = [(m, None) for m in args.models if not (m == "auto" and n > args.default_max)]
        runs += [(m, args.ray) for m in args.models if args.ray and n <= args.ray_max and (m, None) in runs]
        runs += [("aeon-minirocket", None)] if n <= args.aeon_max else []
        for model, ray in runs:
            timeout = args.aeon_timeout if model.startswith("aeon") else None
            result = measure(model, train, test, args.threads, timeout, ray=ray)
            name = f"{model} [ray]" if ray else model
            rows.append({"model": name, "n": n} | result)
            print_row(name, n, result)
    seeded = {}
    if args.seeds:
        train = generate(work / f"train-{args.seeds_n}", args.seeds_n, TRAIN_SUBJECTS, seed=0)
        for variant, options in VARIANTS.items():
            for seed in range(args.seeds):
                result = measure("minirocket", train, test, args.threads, seed=seed, options=options)
                seeded.setdefault(variant, []).append(result)
                print_row(f"minirocket {variant} seed {seed}", args.seeds_n, result)

    print(f"\nbench/scale.py: 60 x 6 windows, 7 classes, {args.threads} thread(s), load {os.getloadavg()[0]:.2f}")
    print(
        f"{'model':<22} {'N':>9} {'wall s':>8} {'s/1k win':>9} {'vs 10k':>7} {'peak RSS GiB':>12} {'test acc':>8}  head"
    )
    for row in rows:
        same = [r for r in rows if r["model"] == row["model"] and "error" not in r]
        base = next((r for r in same if r["n"] == 10_000), same[0] if same else None)
        per_1k = 1000 * row["wall_s"] / row["n"]
        ratio = per_1k / (1000 * base["wall_s"] / base["n"]) if base else float("nan")
        accuracy = f"{row['accuracy']:.3f}" if "accuracy" in row else row.get("error", "")
        print(
            f"{row['model']:<22} {row['n']:>9,} {row['wall_s']:>8.1f} {per_1k:>9.2f} {ratio:>6.2f}x {row['rss_gib']:>12.2f} {accuracy:>8}  {row.get('head', '')}"
        )
    for row in rows:
        if row["model"].endswith(" [ray]"):
            local = next((r for r in rows if r["model"] == row["model"][:-6] and r["n"] == row["n"]), {})
            same = "accuracy" in row and row["accuracy"] == local.get("accuracy")
            print(
                f"{row['model']} n={row['n']:,}: test accuracy {'equal to' if same else 'NOT equal to'} the local fit's"
            )
    if seeded:
        print(
            f"\nminirocket on {args.seeds_n:,} windows, seeds 0-{args.seeds - 1}: test accuracy mean ± std (wall s mean)"
        )
        for variant, results in seeded.items():
            accuracy = np.array([r.get("accuracy", np.nan) for r in results])
            heads = sorted({r.get("head", r.get("error", "")) for r in results})
            print(
                f"  {variant:<10} {accuracy.mean():.4f} ± {accuracy.std(ddof=1) if len(accuracy) > 1 else 0.0:.4f}"
                f"  ({np.mean([r['wall_s'] for r in results]):.1f} s; {', '.join(heads)}; per seed {', '.join(f'{a:.4f}' for a in accuracy)})"
            )


if __name__ == "__main__":
    main()
