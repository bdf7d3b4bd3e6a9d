"""A test double of a whole distributed family, as the scripted backend is one of a single backend.

It declares ``via`` broker and implements :class:`producer.backends.family.Family` end to end
with no real broker: its "services" are a token URL and a record of what was started, its
workers are threads of the producer that take tasks from an in-process queue per row, and its
clean-up is checked (``LEDGER``). It proves that a session, ``sweep`` and ``--python`` ask a
family only what the protocol says: nothing in them names it, and the contract suite
(tests/backends/test_contract.py) runs over its backend.
"""

from __future__ import annotations

import contextlib
import queue as queues
import secrets
import threading
from collections.abc import Iterator

from producer.backends.base import Backend
from producer.backends.family import Services
from producer.errors import BatchTimeout, UsageError
from workloads import run_task

LEDGER: list[tuple[str, str]] = []
"""(event, url): every ``started`` and ``stopped`` of its services, for tests to read."""
_QUEUES: dict[str, dict[str, queues.Queue]] = {}
"""URL -> queue name -> the tasks waiting there (what a broker would hold)."""


class ScriptedFamily:
    name = "scripted-family"
    title = "scripted-family"
    knobs: tuple[str, ...] = ()

    def check(self, settings, specs, groups) -> None:
        if settings.broker_url is not None and not settings.broker_url.startswith("scripted://"):
            raise UsageError(f"{self.name} has no broker to attach to; run it without --broker")

    def not_here(self, spec, group, settings) -> str | None:
        return None

    def row_params(self, spec, row, settings) -> dict:
        workers = row.workers or 1
        return {
            "queue": f"{row.backend}-{row.group or 'here'}-c{row.concurrency}-w{workers}",
            "workers": workers,
        }

    def worker_modules(self, spec) -> tuple[str, ...]:
        return ()

    @contextlib.contextmanager
    def services(self, settings, rows, allow, status) -> Iterator[Services]:
        if not rows:
            yield Services()
            return
        url = f"scripted://{secrets.token_hex(4)}"
        _QUEUES[url] = {}
        LEDGER.append(("started", url))
        try:
            yield Services(
                url, {"embedded": True, "broker": url, "queues": sorted(r.params["queue"] for r in rows)}
            )
        finally:
            _QUEUES.pop(url, None)
            LEDGER.append(("stopped", url))

    def breakdown(self, batches, producer_host) -> dict | None:
        return None


class ScriptedFamilyBackend(Backend):
    """``workers`` x ``concurrency`` threads that take a row's tasks from its scripted queue."""

    def __init__(self, settings, queue: str | None = None, workers: int = 1):
        super().__init__(settings)
        self.queue_name = queue or "scripted-family"
        self.workers = workers
        self._threads: list[threading.Thread] = []
        self._tasks: queues.Queue = queue_of(settings.broker_url, self.queue_name)
        self._done: queues.Queue = queues.Queue()

    @property
    def concurrency(self) -> int:
        return self.settings.concurrency * self.workers

    def start(self) -> None:
        for _ in range(self.concurrency):
            thread = threading.Thread(target=self._work, daemon=True)
            thread.start()
            self._threads.append(thread)

    def _work(self) -> None:
        while (item := self._tasks.get()) is not None:
            spec, size, index = item
            self._done.put(run_task(spec, size, index))

    def run_batch(self, spec: str, size: int, tasks: int, into=None) -> list[dict]:
        for index in range(tasks):
            self._tasks.put((spec, size, index))
        records = [] if into is None else into
        for index in range(tasks):
            try:
                records.append(self._done.get(timeout=self.settings.timeout))
                self.task_done()
            except queues.Empty:
                raise BatchTimeout(self.name, index, tasks, self.settings.timeout) from None
        return records

    def close(self) -> None:
        for _ in self._threads:
            self._tasks.put(None)
        for thread in self._threads:
            thread.join(timeout=self.settings.timeout)
        self._threads.clear()

    def settings_info(self) -> dict:
        return {"queue": self.queue_name, "workers": self.workers}


def queue_of(url: str | None, name: str) -> queues.Queue:
    """The queue ``name`` on the scripted broker ``url``; without one, a queue of its own."""
    if url not in _QUEUES:
        return queues.Queue()
    return _QUEUES[url].setdefault(name, queues.Queue())
