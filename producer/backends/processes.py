"""A pool of processes: one interpreter, and so one GIL, per process.

Every process starts before the first batch, so start-up is timed apart from the
batches. A process that dies under a task is reported as that task's failure and
replaced at once (see :mod:`producer.backends.supervised`).
"""

from __future__ import annotations

from producer.backends.pooled import PooledBackend


class ProcessesBackend(PooledBackend):
    def shape(self) -> tuple[int, int]:
        return self.concurrency, 1
