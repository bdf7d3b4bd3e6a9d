"""CPU time of this process and every descendant, alive or already reaped.

CPU time divided by wall time says how many cores a batch really kept busy: about
1 for threads on pure-Python work (the GIL), about N for N busy processes. The
embedded Celery workers and Redis are descendants too, so their cost is counted.
"""

from __future__ import annotations

import time

import psutil


def tree_cpu_s() -> float:
    """This process to the nanosecond; descendants in the kernel's clock ticks (10 ms)."""
    me = psutil.Process()
    t = me.cpu_times()
    total = time.process_time() + t.children_user + t.children_system
    for child in me.children(recursive=True):
        try:
            ct = child.cpu_times()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue  # ended between listing and reading: its time is in children_*
        total += ct.user + ct.system
    return total
