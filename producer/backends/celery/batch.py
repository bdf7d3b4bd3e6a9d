"""One batch through Celery: send every task, collect each result once, survive what can be.

The loop waits for results on pub/sub (:mod:`.results`) and, once a second while
tasks are out, looks after them:

- it reads results that landed while it was not subscribed (after a reconnect);
- it reads the workers' heartbeats (:mod:`.liveness`): a worker that vanished is
  reported with the tasks it held (kombu gives them to another worker within the
  visibility timeout; the embedded stack starts a replacement); when no worker is
  left on the queue for ``--worker-timeout`` seconds, the batch gives up and names
  every task not completed, and why.

When Redis goes away it waits for it, BROKER_WAIT_S at most (and never past the
batch's deadline). If Redis comes back with the same ``run_id``, nothing was lost.
If it restarted, its queues and results are gone: every task not yet completed is
sent again under a new id. Otherwise the batch fails with BrokerLost (exit 3).

Each task index counts once: the first result to arrive wins; a later one for the
same index (a task sent again, or delivered twice) is reported as a duplicate and
dropped. However a batch ends, what it sent and did not collect is removed from
Redis (:meth:`RunLease.end`).
"""

from __future__ import annotations

import contextlib
import time
import uuid

from producer.backends.celery.app import BROKER_ERRORS, failure_of
from producer.backends.celery.liveness import parse
from producer.backends.celery.results import READY
from producer.errors import BrokerLost, BrokerUnavailable, TasksLost
from producer.services.redis import check_redis, mask_url, reason_of
from worker import protocol

TICK_S = 1.0
"""How often the batch looks after its tasks while it waits for them."""
BROKER_WAIT_S = 15.0
"""How long a batch waits for a Redis that went away before it fails (exit 3)."""
_RETRY_POLL_S = 0.5


def tasks_text(indexes: list[int], most: int = 10) -> str:
    """'task 3', 'tasks 3, 4, 5', 'tasks 0, 1, ... (12 in all)'."""
    if len(indexes) == 1:
        return f"task {indexes[0]}"
    shown = ", ".join(map(str, indexes[:most]))
    return f"tasks {shown}" + (f", ... ({len(indexes)} in all)" if len(indexes) > most else "")


class CeleryBatch:
    def __init__(self, backend, spec: str, size: int, tasks: int):
        self.backend = backend
        self.spec, self.size, self.tasks = spec, size, tasks
        self.index_of: dict[str, int] = {}
        self.latest: dict[int, str] = {}
        self.sent_at: dict[str, float] = {}
        self.published: set[str] = set()
        self.records: dict[int, dict] = {}
        self.handled: set[str] = set()
        self._forget: list[str] = []
        self._seen_retries: set[tuple] = set()
        self._pending = set(range(tasks))
        self._unsent: list[str] = []
        self._orphaned_since: float | None = None
        self._restarted = False
        """Redis restarted during this batch: a vanished worker's tasks are not in it any more."""

    @property
    def pending(self) -> list[int]:
        return sorted(self._pending)

    def run(self, deadline: float) -> list[dict]:
        try:
            self._assign(range(self.tasks))
            self._collect(deadline)
            self._forget += [task_id for task_id in self.index_of if task_id not in self.handled]
            with self._broker_guard(deadline):
                self._flush()  # results of superseded ids, if any landed, go too
        except BaseException:  # a failure, an overrun or Ctrl-C: leave nothing behind
            self._abandon()
            raise
        self.backend.collected.extend(self.handled)
        return [self.records[index] for index in range(self.tasks)]

    # -- sending --------------------------------------------------------------------

    def _assign(self, indexes) -> None:
        """Give each index a new task id; ``_publish`` sends them."""
        for index in indexes:
            task_id = str(uuid.uuid4())
            self.index_of[task_id] = index
            self.latest[index] = task_id
            self._unsent.append(task_id)

    def _publish(self) -> None:
        unsent = [
            task_id
            for task_id in self._unsent
            if task_id not in self.published and self.latest[self.index_of[task_id]] == task_id
        ]
        if not unsent:
            self._unsent = []
            return
        backend = self.backend
        backend.watcher.watch(unsent)  # before sending: no result may land unheard
        args, headers = [self.spec, self.size], backend.lease.headers
        for task_id in unsent:
            self.sent_at[task_id] = time.time()
            backend.app.send_task(
                protocol.TASK_NAME, args=args, queue=backend.queue, task_id=task_id, headers=headers
            )
            self.published.add(task_id)
        self._unsent = []

    # -- collecting -----------------------------------------------------------------

    def _collect(self, deadline: float) -> None:
        next_tick = time.monotonic() + TICK_S
        while self._pending:
            with self._broker_guard(deadline):
                self._publish()
                now = time.monotonic()
                if now >= deadline:
                    raise self._overrun()
                for meta in self.backend.watcher.wait(min(deadline, next_tick) - now):
                    self._arrive(meta)
                self._flush()
                if time.monotonic() >= next_tick and self._pending:
                    self._look_after(deadline)
                    next_tick = time.monotonic() + TICK_S

    def _arrive(self, meta: dict) -> None:
        task_id = meta.get("task_id")
        index = self.index_of.get(task_id)
        if index is None or task_id in self.handled:
            return
        status = meta.get("status")
        if status == "RETRY":
            self._note_retry(index, task_id, meta)
            return
        if status not in READY:
            return
        self.handled.add(task_id)
        self._forget.append(task_id)
        if index in self.records:
            self.backend.incident(
                "duplicate", f"task {index} returned a second result (another delivery of it); counted once"
            )
            return
        result = meta.get("result")
        if status == "SUCCESS" and isinstance(result, dict):
            record = dict(result)
        else:
            record = {"error": failure_of(result)}
        record.update(index=index, sent=self.sent_at.get(task_id))
        if (record.get("delivery") or 1) > 1:
            self.backend.incident(
                "redelivered", f"task {index} completed on delivery {record['delivery']} of it"
            )
        self.records[index] = record
        self._pending.discard(index)

    def _note_retry(self, index: int, task_id: str, meta: dict) -> None:
        key = (task_id, repr(sorted(meta.items())))  # pub/sub and a later fetch may both bring it
        if key in self._seen_retries:
            return
        self._seen_retries.add(key)
        died = failure_of(meta.get("result"))
        why = died["message"].split(" on each", 1)[0]
        self.backend.incident("retried", f"task {index} {why}; Celery ran it again")

    def _flush(self) -> None:
        if self._forget:
            self.backend.watcher.forget(self._forget)
            self._forget = []

    def _look_after(self, deadline: float) -> None:
        """Results pub/sub may have missed, and the workers' heartbeats."""
        for meta in self.backend.watcher.fetch(self.latest[index] for index in self.pending):
            self._arrive(meta)
        self._flush()
        if self._pending:
            self._check_workers()

    def _read_beats(self) -> tuple[list[str], list[str]]:
        """Read the heartbeats; ``(vanished, back)`` since the last read."""
        backend = self.backend
        entries = parse(backend.lease.client.hgetall(protocol.heartbeat_key(backend.queue)))
        return backend.liveness.update(entries, time.monotonic(), time.time())

    def _check_workers(self) -> None:
        backend = self.backend
        vanished, back = self._read_beats()
        for node in vanished:
            held = sorted(
                self.index_of[task_id]
                for task_id in backend.liveness.beats[node].held
                if task_id in self.index_of and self.index_of[task_id] not in self.records
            )
            what = f" holding {tasks_text(held)}, to be delivered again" if held else ""
            if held and self._restarted:  # delivered before the restart: no copy left in Redis
                self._assign(held)
                what = f" holding {tasks_text(held)}, sent again"
            silent = protocol.VISIBILITY_TIMEOUT_S
            backend.incident("vanished", f"worker {node} vanished (no heartbeat for {silent} s){what}")
            backend.lease.client.hdel(protocol.heartbeat_key(backend.queue), node)
        for node in back:
            backend.incident("back", f"worker {node} beat again after it was counted as vanished")
        now = time.monotonic()
        if backend.liveness.known and not backend.liveness.alive():
            self._orphaned_since = self._orphaned_since or now
            if now - self._orphaned_since > backend.settings.worker_timeout:
                raise self._all_gone(now)
        else:
            self._orphaned_since = None

    def _await_fresh_beats(self, deadline: float) -> None:
        """After a restart, wait (briefly) until the workers say again what they hold.

        A worker whose beat does not come back in time is taken as gone: its tasks are
        sent again, and should it finish them after all, the duplicates are dropped.
        """
        liveness = self.backend.liveness
        expected = set(self.backend.nodes) | set(liveness.alive())
        limit = min(deadline, time.monotonic() + 2 * protocol.LEASE_RENEW_S + 2)
        before = {node: liveness.beats[node].at for node in expected if node in liveness.beats}
        liveness.drop_holdings()
        while time.monotonic() < limit:
            self._read_beats()
            beats = liveness.beats
            if all(node in beats and beats[node].at != before.get(node) for node in expected):
                return
            time.sleep(_RETRY_POLL_S / 5)

    def _held_by_live_worker(self, index: int) -> bool:
        node = self.backend.liveness.holder(self.latest[index])
        return node is not None and node in self.backend.liveness.alive()

    # -- failing --------------------------------------------------------------------

    def _not_done(self) -> str:
        """Each task not completed, and where it is: queued, running on a worker, or lost with one."""
        liveness = self.backend.liveness
        queued: set[str] | None = None
        with contextlib.suppress(*BROKER_ERRORS):  # a fresh look, if Redis is there to give one
            self._read_beats()
            queued = self.backend.lease.queued_ids()
        alive = set(liveness.alive())
        groups: dict[str, list[int]] = {}
        for index in self.pending:
            task_id = self.latest[index]
            node = liveness.holder(task_id)
            if task_id not in self.published:
                reason = "not sent"
            elif node is None and queued is None:
                reason = "queued or taken (Redis cannot say)"
            elif task_id in (queued or ()):
                reason = "queued"
            elif node is None:
                reason = "taken by a worker"
            elif node in alive:
                reason = f"running on {node}"
            else:
                reason = f"held by {node}, which vanished"
            groups.setdefault(reason, []).append(index)
        return "; ".join(f"{tasks_text(indexes)} {reason}" for reason, indexes in groups.items())

    def _lost(self, cls, message: str) -> TasksLost:
        done = len(self.records)
        text = f"{message}; {done} of {self.tasks} tasks completed; not completed: {self._not_done()}"
        return cls(self.backend.name, text, done, self.tasks)

    def _overrun(self) -> TasksLost:
        return self._lost(TasksLost, f"batch overran --timeout {self.backend.settings.timeout:g} s")

    def _all_gone(self, now: float) -> TasksLost:
        liveness = self.backend.liveness
        nodes = ", ".join(
            f"{node} silent for {liveness.silent_for(node, now):.0f} s" for node in sorted(liveness.beats)
        )
        return self._lost(
            TasksLost,
            f"every worker on queue '{self.backend.queue}' vanished ({nodes}) and none came back within "
            f"--worker-timeout {self.backend.settings.worker_timeout:g} s",
        )

    @contextlib.contextmanager
    def _broker_guard(self, deadline: float):
        try:
            yield
        except BROKER_ERRORS as exc:
            self._recover(exc, deadline)

    def _recover(self, exc: BaseException, deadline: float) -> None:
        """Wait for Redis; on its return, send again what a restart lost, or raise BrokerLost."""
        backend = self.backend
        began = time.monotonic()
        limit = min(deadline, began + BROKER_WAIT_S)
        backend.watcher.reset()
        while True:
            try:
                info = check_redis(backend.url)
                break
            except BrokerUnavailable:
                if time.monotonic() >= limit:
                    backend.broker_lost = True
                    raise self._lost(
                        BrokerLost,
                        f"lost Redis at {mask_url(backend.url)} mid-batch ({reason_of(exc)}) and it did not "
                        f"come back within {limit - began:.0f} s",
                    ) from None
                time.sleep(_RETRY_POLL_S)
        away = time.monotonic() - began
        backend.lease.refresh()  # a restarted Redis lost the run key: workers would drop our tasks
        backend.liveness.forgive(time.monotonic())
        if info.get("run_id") != backend.redis_run_id:
            backend.redis_run_id = info.get("run_id")
            self._restarted = True
            self._await_fresh_beats(deadline)
            for meta in backend.watcher.fetch(self.latest[index] for index in self.pending):
                self._arrive(meta)  # finished while Redis was away, stored since
            self._flush()
            # a task a live worker holds is still running there and stores its result
            # when it can; the rest were lost with Redis's queues
            lost = [index for index in self.pending if not self._held_by_live_worker(index)]
            self._assign(lost)
            backend.incident(
                "broker",
                f"Redis restarted mid-batch (after {away:.1f} s away) and lost its queues"
                + (f"; {tasks_text(lost)} sent again" if lost else ""),
            )
        else:
            backend.incident("broker", f"the connection to Redis was lost for {away:.1f} s; nothing was lost")

    def _abandon(self) -> None:
        """End the run (its messages go from the queue and ``unacked``), delete stored results."""
        backend = self.backend
        with contextlib.suppress(*BROKER_ERRORS):
            backend.lease.end()
        with contextlib.suppress(*BROKER_ERRORS):
            backend.watcher.forget(list(self.index_of))
