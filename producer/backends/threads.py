"""Threads of this process: parallel only where the work releases the GIL."""

from __future__ import annotations

from multiprocessing.pool import ThreadPool

from producer.backends.pooled import PooledBackend


class ThreadsBackend(PooledBackend):
    def make_pool(self):
        return ThreadPool(self.concurrency)
