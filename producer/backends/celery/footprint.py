"""Which processes hold a Celery backend's work, for its peak memory."""

from __future__ import annotations

import socket

import psutil

from producer.measure import memory


def worker_scope(node_info: dict[str, dict]) -> memory.Scope:
    """The workers' main processes and their pool children, if they are our descendants.

    A worker says its pid and host (``poolbench_info``); only a worker started by this
    process (the embedded stack) is surely the process that pid names here. Workers
    reached through --broker may run on other machines: unknown, not zero.
    """
    here = socket.gethostname()
    try:
        ours = {child.pid for child in psutil.Process().children(recursive=True)}
    except psutil.Error:
        ours = set()
    pids = tuple(
        info["pid"] for info in node_info.values() if info.get("host") == here and info.get("pid") in ours
    )
    if not pids or len(pids) < len(node_info):
        return memory.unknown("workers outside this process tree (--broker): their memory is not visible")
    return memory.Scope(pids, True, "the workers and their pool processes")
