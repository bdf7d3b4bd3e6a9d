"""CPU time of this process and every descendant, alive or already reaped.

CPU time divided by wall time says how many cores a batch really kept busy: about
1 for threads on pure-Python work (the GIL), about N for N busy processes. The
local backends' child processes, the embedded Celery workers and Redis are
descendants, so their cost is counted.

A live descendant's CPU time is read from its process CPU clock (Linux: the clock id
``clock_getcpuclockid`` would return, to the nanosecond), else from psutil in the
kernel's clock ticks (10 ms): the sequential baseline runs in a child process, and
ticks would blur a short batch's CPU/wall by several percent.
"""

from __future__ import annotations

import sys
import time

import psutil

_CPUCLOCK_SCHED = 2


def _process_clock_s(pid: int) -> float:
    """CPU seconds of process ``pid`` (all its threads), to the nanosecond; OSError if unreadable."""
    return time.clock_gettime(((~pid) << 3) | _CPUCLOCK_SCHED)


def _live_cpu_s(child: psutil.Process) -> float:
    if sys.platform.startswith("linux"):
        try:
            return _process_clock_s(child.pid)
        except OSError:
            pass
    times = child.cpu_times()
    return times.user + times.system


def tree_cpu_s() -> float:
    """This process to the nanosecond; descendants too on Linux, else in clock ticks."""
    me = psutil.Process()
    t = me.cpu_times()
    total = time.process_time() + t.children_user + t.children_system
    for child in me.children(recursive=True):
        try:
            total += _live_cpu_s(child)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue  # ended between listing and reading: its time is in children_*
    return total
