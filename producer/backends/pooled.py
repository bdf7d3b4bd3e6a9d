"""Shared machinery of the local backends: a :class:`~producer.backends.supervised.ChildPool`.

The three local strategies differ only in its shape: how many child processes, and how
many threads in each. Whatever a task does (never return, kill its process, eat memory),
the producer survives, --timeout holds and Ctrl-C works at once: see
:mod:`producer.backends.supervised`.
"""

from __future__ import annotations

import multiprocessing

from producer.backends.base import Backend
from producer.backends.supervised import ChildPool
from producer.errors import BatchTimeout
from producer.measure import memory


class PooledBackend(Backend):
    def __init__(self, settings):
        super().__init__(settings)
        self._context = multiprocessing.get_context(settings.start_method)
        self._pool: ChildPool | None = None

    def shape(self) -> tuple[int, int]:
        """(child processes, threads in each)."""
        raise NotImplementedError

    def start(self) -> None:
        processes, threads = self.shape()
        self._pool = ChildPool(self._context, processes, threads, self.settings.memory_limit)
        try:
            self._pool.start(self.settings.startup_timeout)
        except BaseException:  # a failed __enter__ gets no __exit__
            self.close()
            raise

    def run_batch(self, spec: str, size: int, tasks: int) -> list[dict]:
        if self._pool is None or not self._pool.children:  # closed, e.g. after an overrun
            raise BatchTimeout(self.name, 0, tasks, self.settings.timeout)
        return self._pool.run(self.name, spec, size, tasks, self.settings.timeout, on_task=self.task_done)

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()

    def memory_scope(self) -> memory.Scope:
        """The backend's child processes (and theirs): every task of it runs there."""
        pids = tuple(child.process.pid for child in self._pool.children) if self._pool else ()
        return memory.Scope(pids, True, f"{self.name}'s processes")

    def settings_info(self) -> dict:
        processes, threads = self.shape()
        return {
            "start_method": self._context.get_start_method(),
            "processes": processes,
            "threads_per_process": threads,
        }
