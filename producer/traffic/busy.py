"""The baseline's call timed twice: alone, and with every other CPU kept busy.

On many machines one call's speed depends on what the other CPUs do. A laptop's turbo
runs one busy core faster than all of them; a VM's host may run a lone busy vCPU slower
(measured on the 2-vCPU machine of docs/BENCHMARKS.md: ``squares`` 500,000 took 64.6 ms a
call alone and 38.5 ms with a spinning process on the other vCPU, the same process and
no other program). A pool that runs calls in parallel keeps every CPU busy, so its model
must use the second time (``run_busy_s``), and one GIL's pool, which keeps about one CPU
busy, the first (``run_s``). When they differ much the report says so
(:mod:`producer.report.load_text`): every model built on one call's time is that uncertain.

The spinners are poolbench's own processes, each in its own session, killed by the
kernel if the producer dies (each asks for that itself, as :mod:`producer.services.process`
advises for a child started while other threads may run), and stopped at once.
"""

from __future__ import annotations

import contextlib
import os
import signal
import statistics
import sys
import time

from producer.services.process import Child

SPIN = """\
import ctypes, os, signal, sys
try:  # die with the producer (Linux): asked here, not between fork and exec among threads
    ctypes.CDLL("libc.so.6").prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
except (OSError, AttributeError):
    pass
if os.getppid() != int(sys.argv[1]):
    sys.exit(1)  # the producer died before the request took effect
while True:
    pass
"""
SETTLE_S = 0.2
"""How long the spinners run before the first timed call: long enough to be scheduled."""


@contextlib.contextmanager
def others_busy(cpus: int):
    """``cpus - 1`` processes spinning on the other CPUs for the length of the block; yields
    their pids."""
    argv = [sys.executable, "-c", SPIN, str(os.getpid())]
    spinners = [Child(f"spinner-{i}", argv, None, None, die_with_parent=False) for i in range(cpus - 1)]
    try:
        time.sleep(SETTLE_S if spinners else 0.0)
        yield [child.pid for child in spinners]
    finally:
        for child in spinners:
            child.signal(signal.SIGKILL)
        for child in spinners:
            child.finish(timeout=5.0)
            for pipe in (child.proc.stdin, child.proc.stdout, child.proc.stderr):
                pipe.close()


def time_busy(call, cpus: int, calls: int) -> dict:
    """``call()`` (returning a record with ``started``/``ended``) timed with the others busy."""
    if cpus < 2:
        return {}
    with others_busy(cpus) as spinning:
        call()  # one uncounted call, as alone
        times = [(r["ended"] - r["started"]) for r in (call() for _ in range(calls))]
    return {"run_busy_s": statistics.median(times), "runs_busy_s": times, "spinners": len(spinning)}
