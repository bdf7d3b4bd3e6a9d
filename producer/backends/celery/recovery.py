"""What a batch does when something is lost: a worker, a task, or Redis itself.

A mixin of :class:`producer.backends.celery.batch.CeleryBatch`, kept apart so that
the batch's plain path (send, collect) reads on its own:

- workers that vanished are noticed from their heartbeats (:mod:`.liveness`) and
  reported with the tasks they held; when none is left on the queue for
  ``--worker-timeout`` seconds the batch gives up (TasksLost);
- tasks that are nowhere (not queued, not delivered, held by no live worker, no
  result) once the batch stalled are sent again;
- a Redis that went away is waited for, BROKER_WAIT_S at most: back with the same
  ``run_id``, nothing was lost; restarted, the tasks it lost are sent again (those a
  live worker still runs are not); gone, the batch fails with BrokerLost (exit 3);
- every failure names each task not completed and where it is.

What a batch finds out about its backend's world it keeps on itself, for the backend to
take when the batch ends (:meth:`CeleryBackend._through`): Redis's new ``run_id`` after a
restart (``redis_run_id``), the batch's results in Redis under its ids' prefix; a Redis that did not come
back is the BrokerLost it raises. It never sets its backend's fields.
"""

from __future__ import annotations

import contextlib
import time

from producer.backends.celery.app import BROKER_ERRORS
from producer.errors import BrokerLost, BrokerUnavailable, TasksLost
from producer.services.redis import check_redis, mask_url, reason_of
from worker import protocol

BROKER_WAIT_S = 15.0
"""How long a batch waits for a Redis that went away before it fails (exit 3)."""
_RETRY_POLL_S = 0.5


def tasks_text(indexes: list[int], most: int = 10) -> str:
    """'task 3', 'tasks 3, 4, 5', 'tasks 0, 1, ... (12 in all)'."""
    if len(indexes) == 1:
        return f"task {indexes[0]}"
    shown = ", ".join(map(str, indexes[:most]))
    return f"tasks {shown}" + (f", ... ({len(indexes)} in all)" if len(indexes) > most else "")


class Recovery:
    def _find_orphans(self) -> None:
        """Send again what is nowhere: not queued, not delivered, held by no live worker, no result.

        Looked for only once the batch has stalled for a visibility timeout (reading the
        whole queue is not free); a task must be nowhere twice in a row, VISIBILITY_TIMEOUT_S
        apart, to count as lost: a message moving between a list and a worker is not.
        """
        lease, liveness = self.backend.lease, self.backend.liveness
        somewhere = lease.queued_ids() | lease.unacked_ids()
        alive = set(liveness.alive())
        ids = self.ids
        nowhere = {
            task_id
            for task_id in map(ids.latest, self.pending)
            if ids.published(task_id) and task_id not in somewhere and liveness.holder(task_id) not in alive
        }
        lost = sorted(ids.index_of(task_id) for task_id in nowhere & self._suspects)
        self._suspects = nowhere - {ids.latest(index) for index in lost}
        if lost:
            self._assign(lost)
            self.backend.incident(
                "lost",
                f"{tasks_text(lost)} {'was' if len(lost) == 1 else 'were'} in no queue and held by no "
                "worker (lost); sent again",
            )

    def _check_workers(self) -> None:
        backend = self.backend
        vanished, back = self._read_beats()
        for node in vanished:
            held = sorted(
                index
                for index in map(self.ids.index_of, backend.liveness.beats[node].held)
                if index is not None and not self._have[index]
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
        node = self.backend.liveness.holder(self.ids.latest(index))
        return node is not None and node in self.backend.liveness.alive()

    def _not_done(self) -> str:
        """Each task not completed, and where it is: queued, running on a worker, or lost with one."""
        liveness = self.backend.liveness
        queued: set[str] | None = None
        delivered: set[str] = set()
        with contextlib.suppress(*BROKER_ERRORS):  # a fresh look, if Redis is there to give one
            self._read_beats()
            queued = self.backend.lease.queued_ids()
            delivered = self.backend.lease.unacked_ids()
        alive = set(liveness.alive())
        groups: dict[str, list[int]] = {}
        for index in self.pending:
            task_id = self.ids.latest(index)
            node = liveness.holder(task_id)
            if not self.ids.published(task_id):
                reason = "not sent"
            elif node is None and queued is None:
                reason = "queued or taken (Redis cannot say)"
            elif task_id in (queued or ()):
                reason = "queued"
            elif node is None and task_id in delivered:
                reason = "delivered to a worker that did not finish it"
            elif node is None:
                reason = "taken by a worker"
            elif node in alive:
                reason = f"running on {node}"
            else:
                reason = f"held by {node}, which vanished"
            groups.setdefault(reason, []).append(index)
        return "; ".join(f"{tasks_text(indexes)} {reason}" for reason, indexes in groups.items())

    def _lost(self, cls, message: str, joiner: str = "; ") -> TasksLost:
        done = len(self.records)
        text = f"{message}{joiner}{done} of {self.tasks} tasks completed; not completed: {self._not_done()}"
        return cls(self.backend.name, text, done, self.tasks)

    def _overrun(self) -> TasksLost:
        """Worded as the local backends' BatchTimeout, plus where each task is."""
        timeout = self.backend.settings.timeout
        return self._lost(TasksLost, f"batch overran --timeout {timeout:g} s", joiner=" with ")

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
                if time.monotonic() >= limit:  # the backend notes the loss when BrokerLost reaches it
                    raise self._lost(
                        BrokerLost,
                        f"lost Redis at {mask_url(backend.url)} mid-batch ({reason_of(exc)}) and it did not "
                        f"come back within {limit - began:.0f} s",
                    ) from None
                time.sleep(_RETRY_POLL_S)
        away = time.monotonic() - began
        backend.lease.refresh()  # a restarted Redis lost the run key: workers would drop our tasks
        backend.liveness.forgive(time.monotonic())
        if info.get("run_id") != self.redis_run_id:
            self.redis_run_id = info.get("run_id")  # found: the backend takes it when the batch ends
            self._restarted = True
            self._await_fresh_beats(deadline)
            for meta in backend.watcher.fetch(map(self.ids.latest, self.pending)):
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
