"""Shared machinery of the local backends: a ``multiprocessing.pool`` API pool.

``ThreadPool`` (daemon threads) and ``Pool`` (processes) share one API, so the
three local strategies differ only in the pool they make. Daemon threads matter:
a task still stuck after --timeout must not keep the interpreter from exiting,
which ``concurrent.futures`` threads would.
"""

from __future__ import annotations

import multiprocessing
import time

from producer.backends.base import Backend
from producer.errors import BatchTimeout
from workloads import run_task


class PooledBackend(Backend):
    def make_pool(self):
        raise NotImplementedError

    def start(self) -> None:
        self._pool = self.make_pool()

    def run_batch(self, spec: str, size: int, tasks: int) -> list[dict]:
        timeout = self.settings.timeout
        deadline = time.monotonic() + timeout
        pending = [self._pool.apply_async(run_task, (spec, size, i)) for i in range(tasks)]
        records = []
        for index, result in enumerate(pending):
            try:
                records.append(result.get(max(0.0, deadline - time.monotonic())))
                self.task_done()
            except multiprocessing.TimeoutError:
                done = sum(r.ready() for r in pending)
                self.close()  # the pool still runs the late tasks: it cannot be reused
                raise BatchTimeout(self.name, done, tasks, timeout) from None
            except Exception as exc:  # raised outside the workload, e.g. unpicklable result
                records.append({"index": index, "error": {"type": type(exc).__name__, "message": str(exc)}})
        return records

    def close(self) -> None:
        pool = getattr(self, "_pool", None)
        if pool is not None:
            self._pool = None
            pool.terminate()
            pool.join()
