"""Load on `actrec serve`: N concurrent WebSocket sessions at a fixed frame rate against one server
(uvicorn in a subprocess on a loopback port), serving any trained model: a RUN folder (`--run`), or
one this script trains on generated windows (`--model NAME`, default a GRU64+GRU32; `--model auto`
is the default model of `actrec train`) on 99-feature frames, window 30 (`--features`, `--window`).

Prints the mix, sessions, frames/s served, p50/p99 added latency per frame (client send ->
decision received, so it includes both JSON encodings and the loopback), dropped and unanswered
frames, refused frames, how many good sessions decided exactly what an offline `Streamer` decides
on the same frames, server CPU (per decided frame, and per attack of each kind), how long the
server's and the client's event loops waited for a CPU (other load on the machine), and server
memory at the start, every 10 s and at the end. The baseline, measured in the same run, is the
in-process `Streamer.push` per frame (what a local `actrec stream` pays); the ratio says what
serving adds.

The soak (issue 20): `python bench/serve.py --model auto --seconds 600 --hostile 4` is 64 good
sessions x 30 JSON frames/s (1,920 frames/s) beside 4 attackers x 20 attacks/s (80/s). Each
attacker runs on a fixed schedule (an attack that takes longer delays the next: the rate made is
printed) and cycles through `ATTACKS`: two hostile WebSocket messages (`HOSTILE_MESSAGES`: deep
nesting, bad rules, NaN/Infinity, strings and booleans, not JSON, a 2 MiB message, ...), a
half-open HTTP connection (must be closed by the 10 s header timeout), a compression bomb (a
64 KiB `.npz` declaring 64 MiB: 422), and an abrupt disconnect after one frame. Before the load,
50 attacks of each kind, alone, measure what one costs the server. It passes when no frame is
dropped, the added latency's p99 is under 20 ms, every good session is identical to offline,
nothing is `broken` and RSS is flat.

    python bench/serve.py                         # 64 sessions x 30 fps x 60 s, GRU64+GRU32
    python bench/serve.py --model auto            # the default model (trained here on generated windows)
    python bench/serve.py --model auto --window 250 --features 6 --rate 50 --fps 50   # wrist-IMU shape
    python bench/serve.py --run runs/a            # a model you trained (frames: random, its shape)
    python bench/serve.py --sessions 16 --seconds 20
    python bench/serve.py --seconds 300           # the soak: server memory every 10 s
    python bench/serve.py --workers 2             # actrec serve --workers 2
    python bench/serve.py --hostile 4             # and 4 attackers x 20 attacks/s meanwhile (hostile messages,
                                                  # half-open connections, compression bombs, abrupt disconnects)
    python bench/serve.py --model auto --seconds 600 --hostile 4   # the soak

The client runs in this process (asyncio), on the same machine as the server: on a small box the
two share the CPU, so the latency includes waiting for it (its CPU is printed beside the server's).
It is kept a cheap load generator so that it takes as little of that CPU as it can: frames are
encoded before the load, replies are kept as received and parsed and checked against offline
after it (`read_replies`), and what was built before the load is frozen out of the garbage
collector's sight (a full collection over torch and the inputs stalled the client ~0.4-0.65 s,
and the frames it then sent at once overflowed the server's queues).

Frames are random (the model's frame shape, classes drifting every 2 s for a generated model):
latency does not depend on what they show, and the decisions are compared with an offline
Streamer on the same frames.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import io
import json
import math
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
import psutil
import torch
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from actrec.recognizers import Recognizer
from actrec.stream.engine import DEFAULT_SAMPLE_RATE_HZ, Streamer

N_CLASSES, DISTINCT_INPUTS = 10, 8
RECURRENT_OPTIONS = {"hidden_sizes": [64, 32], "dense": []}  # the GRU/LSTM stack the README's table measured


def trained_model(
    folder: Path, model: str, window: int, n_features: int, rate_hz: float, rng: np.random.Generator
) -> Recognizer:
    """`model` fitted on random windows `[128, window, n_features]` (one epoch for a neural model):
    the real pipeline and file, weights that barely matter for latency; classes differ by a
    per-class offset so decisions vary. Saved into `folder`, which the server then serves."""
    y = np.arange(128) % N_CLASSES
    X = rng.normal(size=(128, window, n_features)).astype(np.float32) + y[:, None, None] * 0.3
    options = RECURRENT_OPTIONS if model in ("gru", "lstm") else None
    recognizer = Recognizer(model=model, model_options=options, epochs=1, seed=0)
    recognizer.fit(X, y)
    recognizer.sample_rate_hz = rate_hz
    recognizer.save(folder)
    return Recognizer.load(folder)


def inputs(rng: np.random.Generator, frames: int, frame_shape: tuple[int, ...], rate_hz: float) -> list[np.ndarray]:
    """Distinct input streams `[frames, *frame_shape]` whose class offset drifts every 2 s
    (sessions share them round-robin)."""
    streams = []
    hold = max(1, round(2 * rate_hz))
    for _ in range(DISTINCT_INPUTS):
        classes = np.repeat(rng.integers(0, N_CLASSES, size=frames // hold + 1), hold)[:frames]
        offset = classes.reshape(-1, *[1] * len(frame_shape)) * 0.3
        streams.append((rng.normal(size=(frames, *frame_shape)) + offset).astype(np.float32))
    return streams


def offline(
    recognizer: Recognizer, stream: np.ndarray, rate_hz: float
) -> tuple[list[tuple[str, float, str]], list[float]]:
    """Per frame (label, confidence, events) as a local Streamer decides them, and push seconds."""
    streamer = Streamer(recognizer, runtime="numpy")
    decided, seconds = [], []
    for index, frame in enumerate(stream):
        start = time.perf_counter()
        decision = streamer.push(frame, index / rate_hz)
        seconds.append(time.perf_counter() - start)
        events = json.dumps([json.loads(event.to_json()) for event in decision.events])
        decided.append((decision.label, round(float(decision.confidence), 6), events))
    return decided, seconds


def histogram_percentiles(url: str, percents: tuple[int, ...]) -> list[float]:
    """Upper bucket bounds (ms) holding the given percentiles of the server's latency histogram."""
    with urllib.request.urlopen(url, timeout=10) as response:
        lines = response.read().decode().splitlines()
    buckets = []
    for line in lines:
        if line.startswith("actrec_frame_latency_seconds_bucket"):
            bound = line.split('le="')[1].split('"')[0]
            buckets.append((float(bound), float(line.rsplit(" ", 1)[1])))
    total = buckets[-1][1]
    if total == 0:  # with --workers, the worker that answered may have served no session
        return [float("nan")] * len(percents)
    return [next(bound * 1e3 for bound, count in buckets if count >= total * percent / 100) for percent in percents]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_processes(pid: int) -> list[psutil.Process]:
    """The server and, with --workers, its worker processes."""
    parent = psutil.Process(pid)
    return [parent, *parent.children(recursive=True)]


def server_cpu_s(pid: int, system_only: bool = False) -> float:
    """CPU seconds of the server's processes (user + system, or system only: the kernel's work in
    its socket calls, which on loopback includes the TCP stack of both ends)."""
    return sum(
        process.cpu_times().system + (0 if system_only else process.cpu_times().user)
        for process in server_processes(pid)
    )


def waited_for_cpu_s(pid: int) -> float:
    """Seconds the process's main thread (the server's event loop; this client's) has spent
    runnable but waiting for a CPU (Linux `/proc/PID/schedstat`; 0 where unreadable): the
    machine's other load, which delays frames whatever the server's own cost."""
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


def own_cpu_s() -> float:
    """CPU seconds of this process: the client side, which shares the machine with the server."""
    return sum(psutil.Process().cpu_times()[:2])


def server_rss_mib(pid: int) -> float:
    return sum(process.memory_info().rss for process in server_processes(pid)) / 2**20


def start_server(run: Path, port: int, sessions: int, queue_frames: int, workers: int, log: Path) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "actrec.cli",
        "serve",
        f"model={run}",
        "--port",
        str(port),
        "--max-sessions",
        str(sessions),
        "--queue-frames",
        str(queue_frames),
        "--idle-timeout",
        "60",
        "--workers",
        str(workers),
    ]
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=os.pathsep.join(sys.path))
    # The server's log goes to a file, not a pipe: nobody reads a pipe while the load runs, and a
    # full pipe buffer (64 KiB of uvicorn's connection lines) would block the server's event loop.
    with open(log, "wb") as log_file:
        server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=log_file)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return server
        except OSError:
            if server.poll() is not None:
                raise SystemExit(f"the server exited: {log.read_text(errors='replace')[-2000:]}") from None
            time.sleep(0.2)
    server.kill()
    raise SystemExit("the server did not answer /healthz within 60 s")


async def session(url: str, messages: list[str | bytes], start_at: float, fps: float, result: dict) -> None:
    """Send `messages` at `fps` from `start_at`; keep each reply as received (text, and when) for
    `read_replies` to check after the load: parsing them here would load the machine the server
    runs on, and the replies, kept as strings, give the garbage collector nothing to scan."""
    sent_at: list[float] = []
    replies: list[str | bytes] = []
    received_at: list[float] = []
    result.update(sent_at=sent_at, replies=replies, received_at=received_at, refused=None)
    async with connect(url, max_size=None, compression=None) as ws:
        await ws.send(OPEN)
        opened = json.loads(await ws.recv())
        if opened["type"] != "opened":
            result["refused"] = opened.get("message")
            return

        async def receive() -> None:
            async for raw in ws:
                received_at.append(time.perf_counter())
                replies.append(raw)
                if raw.startswith(CLOSED):
                    return

        reader = asyncio.create_task(receive())
        for seq, message in enumerate(messages):
            delay = start_at + seq / fps - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            sent_at.append(time.perf_counter())
            await ws.send(message)
        await ws.send(END)
        await asyncio.wait_for(reader, timeout=60)


OPEN, END = json.dumps({"type": "open"}), json.dumps({"type": "end"})
CLOSED = '{"type":"closed"'  # how the server's `closed` message starts (pydantic's compact JSON)


def read_replies(result: dict) -> None:
    """A session's replies, parsed after the load: each decision's (label, confidence, events) by
    seq and its latency (client send -> decision received), the errors, and the dropped count."""
    result.update(decisions={}, latency=[], errors=0, dropped=0)
    for raw, received in zip(result.pop("replies", []), result.pop("received_at", [])):
        message = json.loads(raw)
        if message["type"] == "decision":
            result["latency"].append(received - result["sent_at"][message["seq"]])
            events = json.dumps(message["events"])
            result["decisions"][message["seq"]] = (message["label"], message["confidence"], events)
        elif message["type"] == "error":
            result["errors"] += 1
        elif message["type"] == "closed":
            result["dropped"] = message["dropped"]


async def load(url: str, streams: list[list[str | bytes]], n_sessions: int, fps: float) -> tuple[list[dict], float]:
    """Results per session, and the seconds from the first frame sent to the last session closed."""
    # a 1 s head start for connecting, then sessions start spread over one frame interval
    results: list[dict] = [{} for _ in range(n_sessions)]
    first = time.perf_counter() + 1.0
    await asyncio.gather(
        *(
            session(url, streams[i % len(streams)], first + (i / n_sessions) / fps, fps, results[i])
            for i in range(n_sessions)
        )
    )
    return results, time.perf_counter() - first


async def watch_memory(pid: int, every_s: float, samples: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        samples.append(server_rss_mib(pid))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every_s)


HOSTILE_MESSAGES = [
    "[" * 100_000 + "]" * 100_000,
    '{"type": "open", "rules": {"enter": "x"}}',
    '{"type": "open", "rules": {"vote_n": 1000000000}}',
    '{"t": NaN, "x": [1]}',
    '{"t": Infinity, "x": [1]}',
    '{"x": ["1", true]}',
    "not json",
    b"\x00\x01\x02",
    '{"t": 5, "x": null}\n{"t": 1, "x": null}',
    "x" * (2 << 20),
]


def npz_bomb(n_bytes: int, frame_size: int) -> bytes:
    """An .npz of zeros declaring `n_bytes` of X (frames of `frame_size` values): a few KiB on the
    wire, refused before inflating."""
    import zipfile

    buffer = io.BytesIO()
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f4", "fortran_order": False, "shape": (1, n_bytes // (4 * frame_size), frame_size)}
    )
    with (
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("X.npy", "w", force_zip64=True) as member,
    ):
        member.write(header.getvalue())
        chunk = bytes(1 << 20)
        for _ in range(n_bytes // len(chunk)):
            member.write(chunk)
    return buffer.getvalue()


P99_LIMIT_MS = 20.0  # the soak's bound on the added latency per frame (client send -> decision received)
ATTACKS = ("message", "message", "half_open", "bomb", "disconnect")  # one attacker's cycle
ATTACKS_MEASURED = 50  # of each kind, to measure what one costs the server


def count(tally: dict, name: str, n: int = 1) -> None:
    tally[name] = tally.get(name, 0) + n


async def attack(
    kind: str, port: int, message: str | bytes, bomb: bytes, frame_size: int, tally: dict, held: list
) -> None:
    """One attack of `kind`; `tally` counts it and the server's answer; `broken` counts what should
    never happen (an internal error, close codes 1006/1011 from the server). A half-open
    connection is left in `held` (time opened, reader, writer) to be checked by `check_held`."""
    count(tally, kind)
    try:
        if kind == "message":
            async with connect(f"ws://127.0.0.1:{port}/v1/stream/model", max_size=None, compression=None) as ws:
                await ws.send(message)
                await ws.send(json.dumps({"type": "end"}))
                async for raw in ws:
                    reply = json.loads(raw)
                    if reply["type"] == "error" and reply["code"] == "internal":
                        count(tally, "broken")
        elif kind == "half_open":
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            held.append((time.monotonic(), reader, writer))
        elif kind == "bomb":
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(
                f"POST /v1/predict/model HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n"
                f"Content-Length: {len(bomb)}\r\nConnection: close\r\n\r\n".encode()
                + bomb
            )
            status = (await reader.read(100)).split(b" ")[1:2]
            writer.close()
            count(tally, f"bomb {status[0].decode() if status else 'no answer'}")
        else:
            ws = await connect(f"ws://127.0.0.1:{port}/v1/stream/model", compression=None)
            await ws.send(json.dumps({"t": 0.0, "x": [0.0] * frame_size}))
            ws.transport.abort()  # gone without a close frame
    except ConnectionClosed as closed:
        if closed.rcvd is None or closed.rcvd.code in (1006, 1011):
            count(tally, "broken")
    except (TimeoutError, OSError) as error:  # the server too busy to answer in time
        count(tally, f"{kind} {type(error).__name__}")


async def attacker(
    port: int, index: int, rate_hz: float, bomb: bytes, frame_size: int, stop: asyncio.Event, tally: dict
) -> None:
    """Until `stop`: one attack every 1 / `rate_hz` s (on a fixed schedule, as the sessions send
    frames; late when an attack takes longer), cycling through hostile WebSocket messages, a
    half-open HTTP connection, a compression bomb and an abrupt disconnect (`ATTACKS`)."""
    held: list[tuple[float, asyncio.StreamReader, asyncio.StreamWriter]] = []
    start = time.perf_counter() + index / (4 * rate_hz)  # attackers spread over a period
    attempt = index
    while not stop.is_set():
        delay = start + (attempt - index) / rate_hz - time.perf_counter()
        if delay > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            if stop.is_set():
                break
        kind = ATTACKS[attempt % len(ATTACKS)]
        message = HOSTILE_MESSAGES[attempt % len(HOSTILE_MESSAGES)]
        attempt += 1
        await attack(kind, port, message, bomb, frame_size, tally, held)
        held = await check_held(held, tally)
    for _, _, writer in held:  # younger than 15 s: not checked
        writer.close()


async def check_held(held: list, tally: dict) -> list:
    """Half-open connections older than the server's 10 s header timeout must have been closed:
    those over 15 s are checked and let go (so a long soak holds a few dozen sockets, not
    thousands); returns the younger ones."""
    younger = []
    for opened, reader, writer in held:
        if time.monotonic() - opened <= 15:
            younger.append((opened, reader, writer))
            continue
        count(tally, "half_open >15 s checked")
        try:
            closed = reader.at_eof() or await asyncio.wait_for(reader.read(1), 1.0) == b""
        except TimeoutError:
            closed = False
        except OSError:  # reset by the server: closed too
            closed = True
        count(tally, "half_open >15 s still open", int(not closed))
        writer.close()
    return younger


async def attack_costs(pid: int, port: int, bomb: bytes, frame_size: int, n: int) -> dict[str, float]:
    """Server CPU ms per attack of each kind, `n` of each one after another with no session open,
    after a few of each to warm the server up (the first session of each process loads the
    model's compiled code; with --workers, the kernel picks which process accepts).
    The half-open connections' closing at the header timeout is not in it; the CPU clock ticks
    in 10 ms, so a figure is +-10 / `n` ms."""
    costs: dict[str, float] = {}
    held: list = []
    tally: dict = {}
    for kind in ATTACKS * 4 * len(server_processes(pid)):
        await attack(kind, port, json.dumps({"t": 0.0, "x": [0.0] * frame_size}), bomb, frame_size, tally, held)
    await asyncio.sleep(0.5)
    for kind in dict.fromkeys(ATTACKS):
        before = server_cpu_s(pid)
        for attempt in range(n):
            await attack(kind, port, HOSTILE_MESSAGES[attempt % len(HOSTILE_MESSAGES)], bomb, frame_size, tally, held)
        await asyncio.sleep(0.2)  # let the server finish the last one
        costs[kind] = 1e3 * (server_cpu_s(pid) - before) / n
    for _, _, writer in held:
        writer.close()
    return costs


async def run_load(
    url: str,
    streams: list,
    n_sessions: int,
    fps: float,
    pid: int,
    port: int,
    hostile: int,
    attack_rate_hz: float,
    frame_size: int,
) -> tuple[list[dict], float, list[float], dict, dict[str, float], tuple[float, ...]]:
    """Results per session, seconds streaming, server RSS samples, the attackers' tally, server
    CPU ms per attack of each kind (measured first, alone), and (server CPU s, this process's CPU
    s, wall s, server system CPU s, seconds the server's and this client's event loops waited for
    a CPU) over the load."""
    bomb = npz_bomb(64 << 20, frame_size)
    costs = await attack_costs(pid, port, bomb, frame_size, ATTACKS_MEASURED) if hostile else {}
    cpu_before, own_before, wall_before = server_cpu_s(pid), own_cpu_s(), time.perf_counter()
    system_before = server_cpu_s(pid, system_only=True)
    # with --workers, the workers' event loops (the parent only supervises): the one that waited most
    servers = server_processes(pid)[1:] or [psutil.Process(pid)]
    waits_before = [waited_for_cpu_s(process.pid) for process in servers], waited_for_cpu_s(os.getpid())
    memory: list[float] = []
    stop, attacks_over = asyncio.Event(), asyncio.Event()
    tally: dict = {}
    watcher = asyncio.create_task(watch_memory(pid, 10.0, memory, stop))
    attackers = [
        asyncio.create_task(attacker(port, index, attack_rate_hz, bomb, frame_size, attacks_over, tally))
        for index in range(hostile)
    ]
    results, streaming_s = await load(url, streams, n_sessions, fps)
    attacks_over.set()
    await asyncio.gather(*attackers)
    stop.set()
    await watcher
    memory.append(server_rss_mib(pid))
    cpu = (
        server_cpu_s(pid) - cpu_before,
        own_cpu_s() - own_before,
        time.perf_counter() - wall_before,
        server_cpu_s(pid, system_only=True) - system_before,
        max(waited_for_cpu_s(process.pid) - before for process, before in zip(servers, waits_before[0])),
        waited_for_cpu_s(os.getpid()) - waits_before[1],
    )
    return results, streaming_s, memory, tally, costs, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--run", type=Path, help="serve this trained model (RUN folder or model.actrec)")
    source.add_argument(
        "--model",
        default="gru",
        help="train this model family on generated windows and serve it (default gru: GRU64+GRU32)",
    )
    parser.add_argument(
        "--window", type=int, default=30, help="with --model: window length of the generated training windows"
    )
    parser.add_argument("--features", type=int, default=99, help="with --model: features per frame")
    parser.add_argument(
        "--rate", type=float, default=30.0, help="with --model: the model's sample rate (Hz), which dates the frames"
    )
    parser.add_argument("--sessions", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument(
        "--fps", type=float, default=None, help="frames sent per second per session (default: the model's sample rate)"
    )
    parser.add_argument("--queue-frames", type=int, default=16)
    parser.add_argument("--workers", type=int, default=1, help="server processes (actrec serve --workers)")
    parser.add_argument("--binary", action="store_true", help="send float32 binary frames instead of JSON")
    parser.add_argument("--hostile", type=int, default=0, help="attackers running beside the sessions (see attacker)")
    parser.add_argument("--attack-rate", type=float, default=20.0, help="attacks per second per attacker")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as folder:
        if args.run:
            served = args.run
            recognizer = Recognizer.load(served)
        else:
            served = Path(folder)
            recognizer = trained_model(served, args.model, args.window, args.features, args.rate, rng)
        rate_hz = float(recognizer.sample_rate_hz or DEFAULT_SAMPLE_RATE_HZ)
        args.fps = args.fps or rate_hz
        frames = int(args.seconds * args.fps)
        raw = inputs(rng, frames, tuple(recognizer.frame_shape), rate_hz)
        expected, push_seconds = zip(*(offline(recognizer, stream, rate_hz) for stream in raw))
        if (
            args.binary
        ):  # values only: the server dates frame i at i / its sample rate, as offline (a float32 time would not)
            streams = [[f.astype("<f4").tobytes() for f in s] for s in raw]
        else:
            streams = [[json.dumps({"t": i / rate_hz, "x": f.tolist()}) for i, f in enumerate(s)] for s in raw]
        port = free_port()
        gc.collect()
        gc.freeze()  # the inputs, offline decisions, torch: out of the collector's sight (see `session`)
        server = start_server(
            served, port, args.sessions + args.hostile, args.queue_frames, args.workers, Path(folder) / "server.log"
        )
        try:
            results, streaming_s, memory, tally, costs, cpu = asyncio.run(
                run_load(
                    f"ws://127.0.0.1:{port}/v1/stream/model",
                    streams,
                    args.sessions,
                    args.fps,
                    server.pid,
                    port,
                    args.hostile,
                    args.attack_rate,
                    math.prod(recognizer.frame_shape),
                )
            )
            server_latency = histogram_percentiles(f"http://127.0.0.1:{port}/metrics", (50, 99))
            for result in results:
                read_replies(result)
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
    report(
        args,
        describe(recognizer),
        results,
        expected,
        push_seconds,
        memory,
        streaming_s,
        server_latency,
        cpu,
        frames,
        int(recognizer.window_length),
        tally,
        costs,
    )


def describe(recognizer: Recognizer) -> str:
    """The served model in one line: family, frame shape, window and how a frame is computed."""
    shape = "x".join(str(size) for size in recognizer.frame_shape)
    return (
        f"{recognizer.model_name}, frames of {shape} at {recognizer.sample_rate_hz or DEFAULT_SAMPLE_RATE_HZ:g} Hz, "
        f"window {recognizer.window_length}; {Streamer(recognizer, runtime='numpy').describe()}"
    )


def report(
    args: argparse.Namespace,
    model: str,
    results: list[dict],
    expected: tuple,
    push_seconds: tuple,
    memory: list[float],
    streaming_s: float,
    server_latency: list[float],
    cpu: tuple[float, ...],
    frames: int,
    window: int,
    tally: dict,
    costs: dict[str, float],
) -> None:
    served = [result for result in results if result.get("refused") is None]
    decided = sum(len(result["decisions"]) for result in served)
    dropped = sum(result["dropped"] for result in served)
    errors = sum(result["errors"] for result in served)
    unanswered = len(served) * frames - decided - dropped - errors
    latency_ms = np.concatenate([result["latency"] for result in served]) * 1e3 if decided else np.zeros(1)
    baseline_us = np.concatenate([np.asarray(s[window:]) for s in push_seconds]) * 1e6  # after warm-up
    identical = checked = 0
    for index, result in enumerate(served):
        if result["dropped"] == 0:
            checked += 1
            want = expected[index % len(expected)]
            identical += all(result["decisions"].get(seq) == decision for seq, decision in enumerate(want))
    p50, p99 = np.percentile(latency_ms, [50, 99])
    base50 = float(np.median(baseline_us))
    server_s, client_s, wall_s, system_s, server_wait_s, client_wait_s = cpu
    attacks = {kind: tally.get(kind, 0) for kind in costs}
    attack_cpu_s = sum(attacks[kind] * costs[kind] for kind in costs) / 1e3
    mix = f"{args.sessions} sessions x {args.fps:g} fps = {args.sessions * args.fps:.0f} frames/s"
    if args.hostile:
        mix += (
            f"; {args.hostile} attackers x {args.attack_rate:g} attacks/s = {args.hostile * args.attack_rate:.0f}/s "
            f"asked, {sum(attacks.values()) / streaming_s:.0f}/s made (cycle: {', '.join(ATTACKS)})"
        )
    rows = [
        ("model", model),
        ("mix", mix),
        ("sessions (served / asked)", f"{len(served)} / {args.sessions}"),
        ("frames per session", f"{frames} at {args.fps:g} fps ({'binary' if args.binary else 'JSON'})"),
        ("frames/s served", f"{decided / streaming_s:.0f} (asked {len(served) * args.fps:.0f})"),
        ("added latency p50 / p99", f"{p50:.2f} / {p99:.2f} ms (client send -> decision received)"),
        (
            "server-side latency p50 / p99" + (" (one worker)" if args.workers > 1 else ""),
            f"<= {server_latency[0]:g} / <= {server_latency[1]:g} ms (message read -> "
            "decision sent; histogram bucket bounds)",
        ),
        ("baseline Streamer.push p50", f"{base50:.0f} us in-process; served p50 = {p50 * 1e3 / base50:.0f}x that"),
        ("dropped frames", f"{dropped}"),
        ("refused frames (errors)", f"{errors}"),
        ("unanswered frames", f"{unanswered}"),
        (
            "good sessions identical to offline",
            f"{identical} / {len(served)} ({len(served) - checked} with drops, not comparable)",
        ),
        (
            "server CPU",
            f"{100 * server_s / wall_s:.0f}% of one core over {args.workers} process(es), "
            f"{100 * system_s / wall_s:.0f}% of it in the kernel (this client: {100 * client_s / wall_s:.0f}%), "
            f"{psutil.cpu_count()} cores",
        ),
        (
            "waited for a CPU",
            f"server event loop {100 * server_wait_s / wall_s:.0f}% of the time"
            + (" (the worker that waited most)" if args.workers > 1 else "")
            + f", this client's "
            f"{100 * client_wait_s / wall_s:.0f}% (the machine's other load; runnable, not running)",
        ),
        (
            "server CPU per decided frame (est.)",
            f"{1e6 * (server_s - attack_cpu_s) / max(decided, 1):.0f} us"
            + (f" (after {attack_cpu_s:.1f} s for the attacks at their cost below)" if costs else ""),
        ),
    ]
    if costs:
        rows.append(
            (
                "server CPU per attack",
                ", ".join(f"{kind} {cost:.2f} ms" for kind, cost in costs.items())
                + f" ({ATTACKS_MEASURED} of each, alone, first)",
            )
        )
    rows.append(
        (
            "server RSS start / end",
            f"{memory[0]:.0f} / {memory[-1]:.0f} MiB; after the first 10 s between {min(memory[1:]):.0f} and "
            f"{max(memory[1:]):.0f} (every 10 s: {' '.join(f'{value:.0f}' for value in memory)})",
        )
    )
    if tally:
        rows.append(
            ("hostile attempts and answers", ", ".join(f"{name} {count}" for name, count in sorted(tally.items())))
        )
    failed = [
        what
        for what, bad in (
            ("sessions refused", len(served) < args.sessions),
            ("frames dropped", dropped > 0),
            (f"added latency p99 over {P99_LIMIT_MS:g} ms", not p99 < P99_LIMIT_MS),
            ("frames unanswered", unanswered > 0),
            ("sessions differ from offline", identical < len(served)),
            ("server broken by an attack", tally.get("broken", 0) > 0),
            ("half-open connections left open", tally.get("half_open >15 s still open", 0) > 0),
            ("bombs not refused with 422", tally.get("bomb 422", 0) < tally.get("bomb", 0)),
            ("RSS grew over 5% after the first 10 s", memory[-1] > 1.05 * memory[1 if len(memory) > 2 else 0]),
        )
        if bad
    ]
    rows.append(("verdict", "pass" if not failed else "FAIL: " + "; ".join(failed)))
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main()
