"""A multiprocessing pool: one interpreter, and so one GIL, per process."""

from __future__ import annotations

import multiprocessing

from producer.backends.pooled import PooledBackend
from producer.measure import memory


class ProcessesBackend(PooledBackend):
    def __init__(self, settings):
        super().__init__(settings)
        self._context = multiprocessing.get_context(settings.start_method)

    def make_pool(self):
        # Pool starts every process now, so start-up is timed apart from the batches.
        return self._context.Pool(self.concurrency)

    def settings_info(self) -> dict:
        return {"start_method": self._context.get_start_method()}

    def memory_scope(self) -> memory.Scope:
        """The pool's processes (``Pool._pool``, its list of worker processes) and their children."""
        pool = getattr(self, "_pool", None)
        pids = tuple(process.pid for process in getattr(pool, "_pool", ()))
        return memory.Scope(pids, True, "the pool's processes")
