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

from workloads.registry import resolve

HOST = socket.gethostname()


def interpreter() -> dict:
    """Which Python runs the work here, and whether its threads can run Python in parallel.

    ``sys._is_gil_enabled`` exists from 3.13; before that a CPython always has a GIL.
    A free-threaded build may still run with the GIL re-enabled (PYTHON_GIL=1, or an
    extension that asked for it), which is why both facts are kept.
    """
    check = getattr(sys, "_is_gil_enabled", None)
    return {
        "executable": sys.executable,
        "python_implementation": platform.python_implementation(),
        "python_version": platform.python_version(),
        "gil_enabled": check() if check is not None else platform.python_implementation() == "CPython",
        "free_threaded_build": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
    }


def run_task(spec: str, size: int, index: int | None = None) -> dict:
    """Call the workload once; an exception is recorded, not raised."""
    func = resolve(spec).func
    record: dict = {"index": index, "host": HOST, "pid": os.getpid(), "tid": threading.get_ident()}
    cpu0 = time.thread_time()
    record["started"] = time.time()
    try:
        record["summary"] = func(size)
    except Exception as exc:  # reported per backend by the producer
        record["error"] = {"type": type(exc).__name__, "message": str(exc)}
    record["ended"] = time.time()
    record["cpu_s"] = time.thread_time() - cpu0
    return record
