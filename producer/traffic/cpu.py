"""Where a step's CPU went: the calls, poolbench's own work around them, and other programs.

A CPU-bound pool's capacity model, min(C, CPUs)/t, assumes every CPU runs calls. On a
small machine it does not: the producer (generator and result reader), the local pool's
dispatcher process or the embedded Redis and Celery consumer, and other programs take
their share. A step measures them, in cores (CPU seconds per wall second):

- ``tree``: this process and every descendant (pool processes, embedded Redis and workers);
- ``calls``: the CPU time of the step's calls themselves (each record's ``cpu_s``);
- ``overhead``: ``tree - calls``, poolbench's own work around the calls;
- ``producer``: this process alone (part of ``overhead``);
- ``others``: the machine's busy time not in this tree (:class:`producer.measure.host.OtherLoad`).

:func:`left_model` turns them into the model with the CPU left for calls, beside the
plain one; it never replaces it.
"""

from __future__ import annotations

import statistics
import time

from producer.measure import host
from producer.measure.cputime import tree_cpu_s
from producer.report.kinds import word
from producer.traffic.capacity import counted as capacity_steps


class StepCpu:
    """Started when a step's sends start; :meth:`finish` when its last call has ended."""

    def __init__(self) -> None:
        self._wall0 = time.perf_counter()
        self._own0 = time.process_time()
        self._tree0 = tree_cpu_s()
        self._others = host.OtherLoad(tree_cpu_s)

    def finish(self, records: list[dict]) -> dict:
        wall = time.perf_counter() - self._wall0
        others = self._others.cores()
        tree = (tree_cpu_s() - self._tree0) / wall
        producer = (time.process_time() - self._own0) / wall
        cpu = [r["cpu_s"] for r in records if isinstance(r.get("cpu_s"), (int, float))]
        runq = [r["runq_s"] for r in records if isinstance(r.get("runq_s"), (int, float))]
        calls = sum(cpu) / wall
        return {
            "wall_s": wall,
            "tree": tree,
            "calls": calls,
            "overhead": max(0.0, tree - calls),
            "producer": producer,
            "others": others,
            "call_cpu_p50": statistics.median(cpu) if cpu else None,
            "runq_p50": statistics.median(runq) if runq else None,
        }


def at_capacity(steps: list[dict], capacity: dict) -> dict | None:
    """The step whose CPU the left model reads: the lowest rate that saturated above the
    capacity (there the pool had all the CPU it could get), else the highest counted step."""
    counted = [s for s in capacity_steps(steps) if s.get("cpu") is not None]
    if not counted:
        return None
    value = capacity.get("value") or 0.0
    above = [s for s in counted if not s["sustained"] and s["offered"] >= value]
    return min(above, key=lambda s: s["offered"]) if above else max(counted, key=lambda s: s["offered"])


def left_model(kind: str, slots: int, run_s: float, cpus: int, step: dict | None) -> dict | None:
    """min(slots, CPUs - overhead - others)/c, read at ``step``: CPU-bound work only (waits use no CPU).

    c is a call's median CPU time in that step (``call_cpu_p50``), else the baseline's call
    ``run_s``: on a busy machine the baseline's wall time counts its waits for a CPU too."""
    if word(kind) != "cpu-bound" or not step or not run_s or run_s <= 0:
        return None
    cpu = step["cpu"]
    others = cpu.get("others") or 0.0
    left = max(0.0, cpus - cpu["overhead"] - others)
    used = min(slots, left)
    per_call = cpu.get("call_cpu_p50") or run_s
    return {
        "value": used / per_call,
        "call_cpu_s": per_call,
        "cores_left": left,
        "overhead": cpu["overhead"],
        "producer": cpu["producer"],
        "others": others,
        "at_rate": step["offered"],
        "formula": (
            f"min({slots}, {cpus} CPUs - {cpu['overhead']:.2f} poolbench - {others:.2f} others)/c "
            f"= {used:.2f}/{per_call:.4f} s of CPU a call"
        ),
    }
