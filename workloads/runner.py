"""Run one call of a workload and time it where it runs.

Every backend, and the Celery worker, goes through :func:`run_task`, so the per-task
record (timestamps, process, thread, CPU time, summary) has one shape everywhere.
Timestamps are ``time.time()`` because they are compared across processes and hosts.
"""

from __future__ import annotations

import os
import socket
import threading
import time

from workloads.registry import resolve

HOST = socket.gethostname()


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
