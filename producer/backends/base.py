"""The one interface every execution backend implements.

A backend is started once (its start-up is timed on its own), then runs many
batches, then is closed. ``run_batch`` returns one record per task, as made by
``workloads.run_task`` (index, started, ended, pid, tid, host, cpu_s, and a
``summary`` or an ``error``), plus whatever the backend knows (``sent``,
``received``, ``worker`` for Celery). Records may come back in any order.
"""

from __future__ import annotations

import abc

from producer.settings import Settings


class Backend(abc.ABC):
    #: Registered name, e.g. "threads" or "celery-prefork"; set by the registry.
    name: str = ""

    def __init__(self, settings: Settings):
        self.settings = settings

    @property
    def concurrency(self) -> int:
        """How many tasks this backend can run at once (for efficiency)."""
        return self.settings.concurrency

    def start(self) -> None:
        """Create pools, connect, check readiness. Timed as start-up, not as a batch."""

    @abc.abstractmethod
    def run_batch(self, spec: str, size: int, tasks: int) -> list[dict]:
        """Run ``tasks`` calls of ``spec(size)``; return their records, or raise BatchTimeout."""

    def close(self) -> None:
        """Release everything ``start`` acquired; safe to call twice."""

    def describe(self) -> dict:
        """The settings that shaped this backend's numbers, for the report and JSON."""
        return {"concurrency": self.concurrency}

    def __enter__(self) -> Backend:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()
