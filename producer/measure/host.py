"""The machine a result was measured on, and the process-wide tuning that keeps backends fair.

Both are recorded with every run and printed with every table.

glibc gives each new thread its own malloc arena; measured here, the pool created
first then ran allocation-heavy work (``squares``) about 15% slower than the one
created second, whichever strategy it was, which showed up as a false threads
"speedup" of 1.2x or a slowdown of 0.9x. One shared arena removes that bias.
Pure-Python allocation happens under the GIL anyway, so the shared arena's lock
is not what threads are waiting for.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import importlib.metadata
import os
import platform
import socket
import time

from worker import cgroup
from workloads import interpreter


def _cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def cpus() -> dict:
    """CPUs by affinity, the cgroup's CPU quota, and the smaller of the two (``cpus_usable``).

    Inside a container with ``cpus: 1`` every host CPU stays visible and the quota
    rations their time: efficiency and a suggested concurrency must count the quota.
    """
    affinity = cgroup.affinity_cpus()
    quota = cgroup.read_quota(cgroup.read_file)
    return {
        "cpus_affinity": affinity,
        "cpu_quota": {"cpus": quota.cpus, "source": quota.source} if quota else None,
        "cpus_usable": cgroup.usable_cpus(affinity, quota),
    }


def describe(libraries: tuple[str, ...] = ()) -> dict:
    """The machine, this interpreter, and the versions of ``libraries`` (None: not installed)."""
    return {
        "hostname": socket.gethostname(),
        "cpu_count": os.cpu_count(),
        **cpus(),
        "cpu_model": _cpu_model(),
        "platform": platform.platform(),
        **interpreter(),
        "libraries": {name: _version(name) for name in libraries},
    }


def usable_cpus(machine: dict) -> float | int:
    """The parallelism a run could reach: affinity, or the cgroup quota if smaller (1.5 CPUs
    allow 1.5x). At least 1: a quota below one CPU throttles the sequential baseline too."""
    return max(1, machine.get("cpus_usable") or machine.get("cpu_count") or 1)


_M_ARENA_MAX = -8


def share_malloc_arena() -> dict:
    """Ask glibc for one malloc arena; must run before the first thread starts."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        applied = bool(libc.mallopt(_M_ARENA_MAX, 1))
    except (OSError, AttributeError):  # not glibc: nothing to align
        applied = False
    return {"malloc_arena_max": 1 if applied else None}


def _busy_s() -> float | None:
    """CPU seconds the whole machine has spent busy since boot (/proc/stat), or None."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


class OtherLoad:
    """How many cores programs other than this run kept busy over an interval.

    The machine's busy CPU time (/proc/stat) minus this process tree's own, per wall
    second. A busy machine starves the baseline and the pools alike, and a starved
    CPU-bound task looks like one that waits: this is what tells the two apart.
    """

    def __init__(self, tree_cpu) -> None:
        self._tree_cpu = tree_cpu
        self._t0 = time.perf_counter()
        self._busy0 = _busy_s()
        self._own0 = tree_cpu()

    def cores(self) -> float | None:
        busy = _busy_s()
        elapsed = time.perf_counter() - self._t0
        if busy is None or self._busy0 is None or elapsed <= 0:
            return None
        return max(0.0, (busy - self._busy0 - (self._tree_cpu() - self._own0)) / elapsed)


def sample_other_load(tree_cpu, seconds: float = 0.3) -> float | None:
    """Other programs' cores over a short quiet window, before any work starts."""
    load = OtherLoad(tree_cpu)
    time.sleep(seconds)
    return load.cores()


def loadavg() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None
