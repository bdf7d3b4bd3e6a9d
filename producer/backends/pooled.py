"""Shared machinery of the local backends: a :class:`~producer.backends.supervised.ChildPool`.

The local strategies differ only in its shape: how many child processes, how many
workers in each, and whether those workers are threads or subinterpreters. Whatever a
task does (never return, kill its process, eat memory), the producer survives, --timeout
holds and Ctrl-C works at once: see :mod:`producer.backends.supervised`. The children run
under ``interpreter`` (``--python``), or this Python when it is None
(:mod:`producer.backends.launch`).
"""

from __future__ import annotations

from producer.backends.base import Backend
from producer.backends.child import THREADS
from producer.backends.launch import Launcher
from producer.backends.supervised import ChildPool
from producer.errors import BatchTimeout
from producer.measure import memory
from producer.measure.records import Records
from producer.services.environ import Interpreter


class PooledBackend(Backend):
    mode = THREADS
    """How a child with several workers runs them (``child.THREADS`` or ``child.INTERPRETERS``)."""

    def __init__(self, settings, interpreter: Interpreter | None = None):
        super().__init__(settings)
        self._launcher = Launcher(
            settings.start_method,
            interpreter,
            environ=settings.environ,
            mode=self.mode,
            startup_timeout=settings.startup_timeout,
        )
        self._pool: ChildPool | None = None
        self._python: dict | None = None

    def shape(self) -> tuple[int, int]:
        """(child processes, workers in each)."""
        raise NotImplementedError

    def start(self) -> None:
        processes, threads = self.shape()
        self._pool = ChildPool(self._launcher, processes, threads, self.settings.memory_limit)
        try:
            self._pool.start(self.settings.startup_timeout)
        except BaseException:  # a failed __enter__ gets no __exit__
            self.close()
            raise

    def run_batch(self, spec: str, size: int, tasks: int, into=None) -> Records:
        if self._pool is None or not self._pool.children:  # closed, e.g. after an overrun
            raise BatchTimeout(self.name, 0, tasks, self.settings.timeout)
        into = Records() if into is None else into
        return self._pool.run(self.name, spec, size, tasks, self.settings.timeout, self.task_done, into)

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            self._python = pool.python
            pool.close()

    def memory_scope(self) -> memory.Scope:
        """The backend's child processes (and theirs): every task of it runs there."""
        pids = tuple(child.process.pid for child in self._pool.children) if self._pool else ()
        return memory.Scope(pids, True, f"{self.name}'s processes")

    def settings_info(self) -> dict:
        processes, threads = self.shape()
        python = self._pool.python if self._pool is not None else self._python
        return {
            "start_method": self._launcher.start_method,
            "processes": processes,
            "threads_per_process": threads,
            "interpreter": python,
        }
