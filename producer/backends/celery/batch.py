"""One batch through Celery: send every task, collect each result once.

Every result is subscribed to before its task is sent, then read as Redis publishes
it (:mod:`.results`). Once a second while tasks are out, the batch reads what
pub/sub may have missed (after a reconnect) and looks after its tasks; what it does
when a worker, a task or Redis is lost is :mod:`.recovery`'s part.

Each task index counts once: the first result to arrive wins; a later one for the
same index (a task sent again, or delivered twice) is reported as a duplicate and
dropped. However a batch ends, what it sent and did not collect is removed from
Redis (:meth:`RunLease.end`).
"""

from __future__ import annotations

import contextlib
import time

from producer.backends.celery.app import BROKER_ERRORS, failure_of
from producer.backends.celery.liveness import parse
from producer.backends.celery.recovery import Recovery
from producer.backends.celery.results import READY
from producer.backends.celery.task_ids import TaskIds
from producer.measure.records import Records
from worker import protocol

TICK_S = 1.0
"""How often the batch looks after its tasks while it waits for them."""


def task_sentence(index: int, what: str) -> str:
    """'task 3 killed its worker process (...)', or 'task 3: its worker process died (...)'."""
    return f"task {index} {what}" if what.startswith("killed") else f"task {index}: {what}"


class CeleryBatch(Recovery):
    def __init__(self, backend, spec: str, size: int, tasks: int, into=None):
        self.backend = backend
        self.spec, self.size, self.tasks = spec, size, tasks
        self.ids = TaskIds(backend.batch_prefix(), tasks)
        """Each task's ids, when each was sent, which brought a result (:mod:`.task_ids`)."""
        self.records = Records() if into is None else into
        """Each index's first result, in the order they came: by column (bytes a task, not a
        KB), or into the rounds' :class:`~producer.measure.tally.Tally`, which folds them."""
        self._have = bytearray(tasks)
        self._forget: list[str] = []
        self._seen_retries: set[tuple] = set()
        self._remaining = tasks
        """Tasks without a result yet (``_have`` says which)."""
        self._unsent: range | list[int] = []
        """Indexes whose latest id is to be sent; all of them at first."""
        self._orphaned_since: float | None = None
        self._progress = time.monotonic()
        """When a result last arrived, or tasks were last sent."""
        self._resets = 0
        """The watcher's resets at the last read of stored results (:meth:`_look_after`; it
        reads them at its first look if the watcher was ever reset)."""
        self._suspects: set[str] = set()
        """Task ids found nowhere at the last look (:meth:`_find_orphans`)."""
        self._restarted = False
        """Redis restarted during this batch: a vanished worker's tasks are not in it any more."""
        self.redis_run_id: str | None = backend.redis_run_id
        """Redis's ``run_id`` as this batch last saw it (a new one: it restarted)."""

    @property
    def pending(self) -> list[int]:
        return [index for index in range(self.tasks) if not self._have[index]] if self._remaining else []

    def run(self, deadline: float) -> Records:
        try:
            self.backend.watcher.watch_prefix(self.ids.prefix)  # before sending: no result lands unheard
            self._unsent = range(self.tasks)
            self._collect(deadline)
            self._forget += self.ids.unhandled()
            with self._broker_guard(deadline):
                self._flush()  # results of superseded ids, if any landed, go too
                self.backend.watcher.unwatch_prefix(self.ids.prefix)
        except BaseException:  # a failure, an overrun or Ctrl-C: leave nothing behind
            self._abandon()
            raise
        return self.records

    # -- sending --------------------------------------------------------------------

    def _assign(self, indexes) -> None:
        """Give each index a new task id, to be sent again; ``_publish`` sends them."""
        self._unsent = list(self._unsent)  # a range still being sent (a broker lost mid-send)
        for index in indexes:
            self.ids.renew(index)
            self._unsent.append(index)

    def _publish(self) -> None:
        """Send each unsent index's latest id, made as it is sent: a batch of 100,000 holds no
        list or map of its ids (they cost it about 16 MB). ``_unsent`` is cleared only once all
        went, so that after a lost broker the rest go (those sent are skipped)."""
        if not self._unsent:
            return
        ids, backend = self.ids, self.backend
        seen: set[int] | None = None if isinstance(self._unsent, range) else set()
        headers = backend.lease.headers
        with backend.app.producer_or_acquire() as producer:  # one producer for the batch: less CPU
            for index in self._unsent:
                if seen is not None:  # an index renewed twice is sent once
                    if index in seen:
                        continue
                    seen.add(index)
                task_id = ids.latest(index)
                if ids.published(task_id):
                    continue
                sent, t0 = time.time(), time.perf_counter()
                backend.app.send_task(
                    protocol.TASK_NAME,
                    args=[self.spec, self.size, index],  # the worker echoes the index
                    queue=backend.queue,
                    task_id=task_id,
                    headers=headers,
                    producer=producer,
                )
                ids.sent(task_id, sent, time.perf_counter() - t0)
        self._unsent = []
        self._progress = time.monotonic()  # no result was read while sending: not a stall

    # -- collecting -----------------------------------------------------------------

    def _collect(self, deadline: float) -> None:
        next_tick = time.monotonic() + TICK_S
        while self._remaining:
            with self._broker_guard(deadline):
                self._publish()
                now = time.monotonic()
                if now >= deadline:
                    raise self._overrun()
                for meta in self.backend.watcher.wait(min(deadline, next_tick) - now):
                    self._arrive(meta)
                self._flush()
                if time.monotonic() >= next_tick and self._remaining:
                    self._look_after(deadline)
                    next_tick = time.monotonic() + TICK_S

    def _arrive(self, meta: dict) -> None:
        task_id = meta.get("task_id")
        index = self.ids.index_of(task_id)
        if index is None or self.ids.handled(task_id):
            return
        status = meta.get("status")
        if status == "RETRY":
            self._note_retry(index, task_id, meta)
            return
        if status not in READY:
            return
        self.ids.handle(task_id)
        self._forget.append(task_id)
        if self._have[index]:
            self.backend.incident(
                "duplicate", f"task {index} returned a second result (another delivery of it); counted once"
            )
            return
        result = meta.get("result")
        if status == "SUCCESS" and isinstance(result, dict):
            record = dict(result)
        else:
            record = {"error": failure_of(result)}
            if record["error"]["type"] == protocol.PROCESS_DIED:  # the message says what happened
                record["error"]["problem"] = task_sentence(index, record["error"]["message"])
        sent, publish_s = self.ids.sent_at(task_id)
        record.update(index=index, sent=sent, publish_s=publish_s, collected=time.time())
        self.records.append(record)
        self._have[index] = 1
        self.backend.task_done()
        self._remaining -= 1
        self._progress = time.monotonic()

    def _note_retry(self, index: int, task_id: str, meta: dict) -> None:
        key = (task_id, repr(sorted(meta.items())))  # pub/sub and a later fetch may both bring it
        if key in self._seen_retries:
            return
        self._seen_retries.add(key)
        died = failure_of(meta.get("result"))
        why = died["message"].split(" on each", 1)[0]
        self.backend.incident("retried", f"{task_sentence(index, why)}; Celery ran it again")

    def _flush(self) -> None:
        if self._forget:
            self.backend.watcher.forget(self._forget)
            self._forget = []

    def _look_after(self, deadline: float) -> None:
        """Results pub/sub may have missed, the workers' heartbeats, and lost tasks.

        Pub/sub misses nothing on a live connection: the stored results are read only once
        none was heard for a tick, or after the connection was dropped, not every tick (with
        100,000 tasks pending that was 100 MGETs a second inside the batch's clock)."""
        watcher = self.backend.watcher
        if watcher.resets != self._resets or time.monotonic() - self._progress >= TICK_S:
            self._resets = watcher.resets
            for meta in watcher.fetch(map(self.ids.latest, self.pending)):
                self._arrive(meta)
            self._flush()
        if self._remaining:
            self._check_workers()
        now = time.monotonic()
        if self._remaining and now - self._progress > protocol.VISIBILITY_TIMEOUT_S:
            self._progress = now  # look again after as long
            self._find_orphans()

    def _read_beats(self) -> tuple[list[str], list[str]]:
        """Read the heartbeats; ``(vanished, back)`` since the last read."""
        backend = self.backend
        entries = parse(backend.lease.client.hgetall(protocol.heartbeat_key(backend.queue)))
        return backend.liveness.update(entries, time.monotonic(), time.time())

    @contextlib.contextmanager
    def _broker_guard(self, deadline: float):
        try:
            yield
        except BROKER_ERRORS as exc:
            self._recover(exc, deadline)

    def _abandon(self) -> None:
        """End the run (its messages go from the queue and ``unacked``), delete stored results."""
        backend = self.backend
        with contextlib.suppress(*BROKER_ERRORS):
            backend.lease.end()
        with contextlib.suppress(*BROKER_ERRORS):
            backend.watcher.forget(self.ids.every())
        with contextlib.suppress(*BROKER_ERRORS):
            backend.watcher.unwatch_prefix(self.ids.prefix)
