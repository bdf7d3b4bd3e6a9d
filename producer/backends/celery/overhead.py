"""What one message costs a Celery pool slot, measured directly at start, outside the batches.

A burst of no-op tasks (``sleep 0``) goes through the backend's own batch path once its
workers answer. All are published at once, so each pool slot runs them back to back and
their work is nil: the time a slot idles between one and the next (the median over the
burst) is what one message costs it (acknowledge, store the result, fetch and hand over
the next). Where the records say no slot ran two, ``wall x slots / tasks`` stands in
(it also holds the burst's fixed latency, so it is larger). The chunking advice
(:mod:`producer.report.chunking`) sets a task's run against this figure, measured where
nothing else competes for the worker, instead of against the gaps seen between the real
tasks, which also hold a slot's wait for the GIL.
"""

from __future__ import annotations

import statistics
import time

from producer.measure.breakdown import slot_gaps

BURST_PER_SLOT = 8
"""No-op tasks per pool slot in the burst."""
BURST_MIN, BURST_MAX = 16, 128


def measure(backend, batch_class) -> dict | None:
    """``{"message_s", "basis", "tasks", "slots", "wall_s"}``, or None if the burst did not complete."""
    slots = max(1, backend.concurrency)
    tasks = min(BURST_MAX, max(BURST_MIN, BURST_PER_SLOT * slots))
    deadline = time.monotonic() + backend.settings.worker_timeout
    began = time.perf_counter()
    records = batch_class(backend, "sleep", 0, tasks).run(deadline)
    wall = time.perf_counter() - began
    if len({r.get("index") for r in records}) < tasks or any("error" in r for r in records):
        return None
    gaps = [g for g in slot_gaps(records) if g >= 0]
    if gaps:
        return {"message_s": statistics.median(gaps), "basis": "slot gap", "tasks": tasks, "slots": slots,
                "wall_s": wall}  # fmt: skip
    return {
        "message_s": wall * slots / tasks,
        "basis": "throughput",
        "tasks": tasks,
        "slots": slots,
        "wall_s": wall,
    }
