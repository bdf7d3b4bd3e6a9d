"""Run one call of a workload and time it where it runs.

Every backend, and the Celery worker, goes through :func:`run_task`, so the per-task
record (timestamps, process, thread, CPU time, summary) has one shape everywhere.
Timestamps are ``time.time()`` because they are compared across processes and hosts.
"""

from __future__ import annotations

import os
import platform
import socket
import sys
import sysconfig
import threading
import time

from workloads.gil import enabled as gil_enabled
from workloads.gil import turned_on_by as gil_turned_on_by
from workloads.registry import resolve

HOST = socket.gethostname()
_SCHEDSTAT = "/proc/thread-self/schedstat"


def runqueue_s() -> float | None:
    """Seconds this thread has spent runnable but waiting for a CPU (Linux schedstat).

    It tells a starved task from a waiting one: on a busy machine, CPU-bound work sits
    in the run queue; work that sleeps or blocks on I/O (or on the GIL) does not.
    """
    try:
        with open(_SCHEDSTAT) as f:
            return int(f.read().split()[1]) / 1e9
    except (OSError, ValueError, IndexError):
        return None


def interpreter() -> dict:
    """Which Python runs the work here, and whether its threads can run Python in parallel.

    ``sys._is_gil_enabled`` exists from 3.13; before that a CPython always has a GIL.
    A free-threaded build may still run with the GIL re-enabled (PYTHON_GIL=1, or an
    extension that asked for it), which is why both facts are kept; ``gil_enabled_by``
    names the modules whose import turned it back on, where :func:`workloads.gil.watch`
    saw it happen.
    """
    return {
        "executable": sys.executable,
        "python_implementation": platform.python_implementation(),
        "python_version": platform.python_version(),
        "gil_enabled": gil_enabled(),
        "free_threaded_build": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
        "gil_enabled_by": gil_turned_on_by(),
    }


def run_task(spec: str, size: int, index: int | None = None) -> dict:
    """Call the workload once; an exception is recorded, not raised."""
    func = resolve(spec).func
    record: dict = {"index": index, "host": HOST, "pid": os.getpid(), "tid": threading.get_ident()}
    runq0 = runqueue_s()
    cpu0 = time.thread_time()
    record["started"] = time.time()
    try:
        record["summary"] = func(size)
    except Exception as exc:  # reported per backend by the producer
        record["error"] = {"type": type(exc).__name__, "message": str(exc)}
    record["ended"] = time.time()
    record["cpu_s"] = time.thread_time() - cpu0
    runq1 = runqueue_s()
    if runq0 is not None and runq1 is not None:
        record["runq_s"] = runq1 - runq0
    return record


def run_task_in_interpreter(spec: str, size: int, index: int | None = None) -> dict:
    """:func:`run_task` in a subinterpreter; the record names the interpreter beside its thread."""
    record = run_task(spec, size, index)
    record["interpreter"] = interpreter_id()
    return record


def interpreter_id() -> int | None:
    """This (sub)interpreter's id: 0 for the main one; None where the Python cannot say."""
    try:
        import _interpreters as low  # 3.13+, and 3.12 with the interpreters-pep-734 backport
    except ImportError:
        try:
            import _xxsubinterpreters as low  # 3.12
        except ImportError:
            return None
    current = low.get_current()
    return int(current[0] if isinstance(current, tuple) else current)
