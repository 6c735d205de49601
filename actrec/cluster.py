"""Batch jobs on a Ray cluster (the optional extra `actrec[cluster]`): connect, run, collect.

Only the connection and the fan-out live here; what a job does stays in its own module (e.g.
`jobs/`), so a run on Ray gives the same outputs, progress and per-file errors as a local
run. Jobs receive their input as bytes, so workers need no shared file system; the driver writes
every output itself (atomically), which keeps a Ray run resumable like a local one. `on_ray`
sends work inside a fit the same way (a kernel model's features), for as long as a block runs.
"""

from __future__ import annotations

import itertools
import logging
import socket
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, TypeVar

from actrec.errors import ActrecError, ConfigError, first_line

Result = TypeVar("Result")

_connected_to: str | None = None  # the address this process's Ray driver was started for
_tasks_on: ContextVar[str | None] = ContextVar("actrec_tasks_on_ray", default=None)


@contextmanager
def on_ray(address: str) -> Iterator[None]:
    """Inside the block, work that runs as Ray tasks when asked does so on the cluster at
    `address`: a kernel model's fit computes its kernel features there (`training/feature_store.py`),
    its head on this driver. Where a fit runs is a setting of the run, not of the model (as with
    joblib's `parallel_backend`), so nothing of it is saved with the model."""
    token = _tasks_on.set(address)
    try:
        yield
    finally:
        _tasks_on.reset(token)


def tasks_address() -> str | None:
    """The Ray address `on_ray` set for this context, or None: run here."""
    return _tasks_on.get()


def connect(address: str) -> Any:
    """The `ray` module, connected to the cluster at `address` (`auto`: the one this machine
    belongs to, or `ray://host:10001`); one line when Ray is missing or unreachable."""
    try:
        import ray
    except ImportError:
        raise ConfigError("--ray needs Ray: pip install 'actrec[cluster]'") from None
    global _connected_to
    if ray.is_initialized():
        if _connected_to in (None, address):
            return ray  # connected by us to this address, or by the caller's own ray.init
        ray.shutdown()  # we connected to another cluster: a process holds one connection at a time
    _check_reachable(address)
    try:
        ray.init(address=address, log_to_driver=False, logging_level=logging.ERROR)
    except (ConnectionError, RuntimeError, ValueError) as error:
        first = first_line(error)
        raise ConfigError(
            f"--ray {address}: cannot connect ({first}); start a head with `ray start --head` or give its address"
        ) from None
    _connected_to = address
    return ray


def _check_reachable(address: str) -> None:
    """A `host:port` head that does not answer is refused at once: Ray itself retries for
    minutes before giving up."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return  # `auto`, `local` or a form Ray resolves itself
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as error:
        raise ConfigError(
            f"--ray {address}: nothing answers there ({error.strerror or error}); start a head with `ray start --head` or give its address"
        ) from None


def run_on_ray(
    address: str,
    function: Callable[..., Any],
    jobs: Iterable[tuple[Any, ...]],
    shared: tuple[Any, ...] = (),
    in_order: bool = False,
) -> Iterator[tuple[int, Any, BaseException | None]]:
    """Run `function(*shared, *job)` for every job as Ray tasks; yield `(job index, result, None)`
    as each finishes, or `(job index, None, error)` when its task failed (the others go on).

    `jobs` is read lazily, twice the cluster's CPUs ahead of the finished tasks, so a generator
    that reads each file's bytes holds only those in memory, not the whole archive. `shared`
    values (e.g. a model's bytes) go to the cluster's object store once, not once a job.
    in_order: yield in job order (a result that finished early waits for the ones before it, and
    counts against the jobs ahead, so the results held stay bounded), for a driver that folds
    the results into running sums and wants the sums of a local run."""
    ray = connect(address)
    task = ray.remote(max_retries=1)(function)
    shared_refs = [ray.put(value) for value in shared]
    in_flight = max(2, 2 * int(ray.cluster_resources().get("CPU", 1)))
    waiting = enumerate(jobs)
    pending: dict[Any, int] = {}
    finished: dict[int, tuple[Any, BaseException | None]] = {}  # in order: done, not yet yielded
    next_index = 0
    while True:
        for index, job in itertools.islice(waiting, in_flight - len(pending) - len(finished)):
            pending[task.remote(*shared_refs, *job)] = index
        if not pending and not finished:
            return
        if pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                index = pending.pop(ref)
                try:
                    finished[index] = (ray.get(ref), None)
                except Exception as error:  # noqa: BLE001  a task or worker that died fails only its own job
                    finished[index] = (None, error)
        while finished:
            index = next_index if in_order else next(iter(finished))
            if index not in finished:
                break  # in order: the next job is still running
            result, failure = finished.pop(index)
            next_index += 1
            yield index, result, failure


def failure_line(error: BaseException) -> str:
    """One line for a task that failed on Ray: its original error's type and first sentence (e.g.
    a worker that cannot import actrec says so), not Ray's multi-line traceback."""
    cause = getattr(error, "cause", None) or error
    lines = str(cause).strip().splitlines()
    sentence = lines[0].split(". ")[0][:200] if lines else ""
    return f"{type(cause).__name__}: {sentence}" if sentence else type(cause).__name__


def on_local_copy(content: bytes, name: str, work: Callable[[Path], Result]) -> Result | str:
    """In a task: `work(path)` on a temporary file holding `content` under `name`'s file name (a
    worker need not see the driver's files); an ActrecError comes back as its one-line text, with
    the temporary path replaced by `name` so the message names the user's file."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / Path(name).name
        path.write_bytes(content)
        try:
            return work(path)
        except ActrecError as error:
            return str(error).replace(str(path), name)
