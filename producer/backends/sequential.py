"""The baseline: every call one after another, in one thread of this process."""

from __future__ import annotations

from multiprocessing.pool import ThreadPool

from producer.backends.pooled import PooledBackend


class SequentialBackend(PooledBackend):
    @property
    def concurrency(self) -> int:
        return 1

    def make_pool(self):
        # One daemon thread, so that --timeout can abandon a stuck call.
        return ThreadPool(1)
