"""The one interface every execution backend implements.

A backend is started once (its start-up is timed on its own), then runs many
batches, then is closed. ``run_batch`` returns one record per task, as made by
``workloads.run_task`` (index, started, ended, pid, tid, host, cpu_s, and a
``summary`` or an ``error``), plus whatever the backend knows (``sent``,
``received``, ``worker`` for Celery). Records may come back in any order.

A backend describes itself (:meth:`Backend.describe`): what it is and the settings
that shaped its numbers, as celery's pools do with ``_get_info()``.
"""

from __future__ import annotations

import abc
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypedDict

from producer.measure.records import Records, as_records

if TYPE_CHECKING:
    from producer.backends import BackendSpec
    from producer.measure import memory
    from producer.settings import Settings


class BackendInfo(TypedDict, total=False):
    name: str
    family: str
    """``local`` or ``celery``."""
    pool: str | None
    """The Celery pool (prefork, threads, solo, gevent); None for local backends."""
    model: str
    """Its execution model: serial, threads, processes, interpreters or greenlets."""
    via: str
    """``local`` (the producer's machine) or ``broker``."""
    shares_gil: bool
    """Its workers share one interpreter's GIL (where the interpreter has one)."""
    needs_broker: bool
    concurrency: int
    """Tasks it can run at once, as used for efficiency."""
    caveats: list[str]
    """Known behaviours that distort its numbers."""
    settings: dict[str, Any]
    """Everything else that shaped its numbers (start method, workers' real settings...)."""


class Backend(abc.ABC):
    #: The registry entry it was built from; set by :func:`producer.backends.create`.
    spec: BackendSpec
    #: Called once per task as its result arrives, for progress; set by the rounds.
    on_task: Callable[[], None] | None = None

    def __init__(self, settings: Settings):
        self.settings = settings

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def concurrency(self) -> int:
        """How many tasks this backend can run at once (for efficiency)."""
        return self.settings.concurrency

    def start(self) -> None:
        """Create pools, connect, check readiness. Timed as start-up, not as a batch."""

    @abc.abstractmethod
    def run_batch(self, spec: str, size: int, tasks: int, into=None) -> Records:
        """Run ``tasks`` calls of ``spec(size)``, appending each task's record to ``into`` (a new
        :class:`Records` without one; the rounds hand a :class:`~producer.measure.tally.Tally`)
        as it comes back; return ``into``, or raise BatchTimeout."""

    def close(self) -> None:
        """Release everything ``start`` acquired; safe to call twice."""

    def task_done(self) -> None:
        if self.on_task is not None:
            self.on_task()

    def disturbances(self, records: Records | list[dict]) -> list[str]:
        """What disturbed the batch just run: redelivered tasks (``records`` holds at least the
        records that say ``redelivered``), and whatever the backend saw."""
        records = as_records(records)
        again = sorted(
            index
            for p in range(len(records))
            if records.get(p, "redelivered") and isinstance(index := records.get(p, "index"), int)
        )
        return [f"task {i} was delivered again" for i in again]

    def settings_info(self) -> dict[str, Any]:
        """Backend-specific settings that shaped the numbers; extended by subclasses."""
        return {}

    def caveats(self) -> list[str]:
        return []

    def memory_scope(self) -> memory.Scope:
        """The processes that hold this backend's work, for its peak memory: this one by default."""
        from producer.measure import memory  # psutil: not on every --python this module runs under

        return memory.Scope((os.getpid(),), False, "the producer process")

    def describe(self) -> BackendInfo:
        """What this backend is and the settings that shaped its numbers."""
        return BackendInfo(
            name=self.spec.name,
            family=self.spec.family,
            pool=self.spec.pool,
            model=self.spec.model,
            via=self.spec.via,
            shares_gil=self.spec.shares_gil,
            needs_broker=self.spec.needs_broker,
            concurrency=self.concurrency,
            caveats=self.caveats(),
            settings=self.settings_info(),
        )

    def __enter__(self) -> Backend:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()
