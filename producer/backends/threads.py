"""Threads of one process: parallel only where the work releases the GIL.

The threads live in one child process of the producer, so they share that process's
one GIL exactly as threads of the producer would, and a stuck or crashing task can be
abandoned (see :mod:`producer.backends.supervised`).
"""

from __future__ import annotations

from producer.backends.pooled import PooledBackend


class ThreadsBackend(PooledBackend):
    def shape(self) -> tuple[int, int]:
        return 1, self.concurrency
