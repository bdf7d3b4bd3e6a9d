"""What one message costs a Celery pool slot, measured directly at start, outside the batches.

A burst of no-op tasks (``sleep 0``) goes through the backend's own batch path once its
workers answer. Their work is nil, so the burst's wall time is all message handling: on
each of the pool's slots, ``wall x slots / tasks`` is the time one message takes (publish,
hand-off, acknowledge, store the result, fetch the next). The chunking advice
(:mod:`producer.report.chunking`) sets a task's run against this figure, measured where
nothing else competes for the worker, instead of against the gaps seen between the real
tasks, which also hold a slot's wait for the GIL.
"""

from __future__ import annotations

import time

BURST_PER_SLOT = 4
"""No-op tasks per pool slot in the burst."""
BURST_MIN, BURST_MAX = 8, 64


def measure(backend, batch_class) -> dict | None:
    """``{"message_s", "tasks", "slots", "wall_s"}``, or None if the burst did not complete."""
    slots = max(1, backend.concurrency)
    tasks = min(BURST_MAX, max(BURST_MIN, BURST_PER_SLOT * slots))
    deadline = time.monotonic() + backend.settings.worker_timeout
    began = time.perf_counter()
    records = batch_class(backend, "sleep", 0, tasks).run(deadline)
    wall = time.perf_counter() - began
    if len({r.get("index") for r in records}) < tasks or any("error" in r for r in records):
        return None
    return {"message_s": wall * slots / tasks, "tasks": tasks, "slots": slots, "wall_s": wall}
