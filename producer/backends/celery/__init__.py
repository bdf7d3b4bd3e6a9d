"""Celery workers over Redis: one backend, with the worker pool as its parameter.

The producer reaches workers only through Celery, by task name and queue; the queue
is named after the pool, so ``celery-threads`` reaches threads workers only.
``run_batch`` sends every task first, through one producer held for the batch (not
one taken from the pool per task: about 8% less of the producer's CPU per task,
measured), then waits for each result on its own ``AsyncResult.get``: the Redis
result backend wakes that wait by pub/sub as the result lands, where
``GroupResult.get`` would poll in half-second steps and add up to 0.5 s to every batch.
"""

from __future__ import annotations

import contextlib
import time

from celery import states
from celery.exceptions import TimeoutError as CeleryTimeout

from producer.backends.base import Backend
from producer.backends.celery.app import APPS, BROKER_ERRORS, broker_errors, failure_of
from producer.backends.celery.footprint import worker_scope
from producer.backends.celery.messages import MessageBatch
from producer.errors import BatchTimeout, NoWorker
from producer.measure import memory
from producer.services.redis import check_redis, mask_url
from worker.protocol import INFO_COMMAND, TASK_NAME, queue_for
from workloads import canonical

POLL_S = 0.5
"""How long each round of ``inspect().active_queues()`` collects replies."""
CAVEATS = {
    "gevent": "Celery's gevent pool notices a freed slot only after its 2 s broker wait "
    "(celery/worker/loops.py synloop) when prefetch is 1 with late acks: batches larger "
    "than its concurrency stall up to 2 s; compare it with --tasks <= --concurrency",
}
"""Known pool behaviours that distort a comparison, reported with its numbers."""
FREE_THREADED_GEVENT = (
    "a gevent pool on a free-threaded Python: gevent turns the GIL back on when it loads, and "
    "its greenlets run one at a time in one thread anyway, so free threading gains it nothing"
)


class CeleryBackend(Backend):
    def __init__(self, settings, pool: str, queue: str | None = None):
        super().__init__(settings)
        self.pool = pool
        self.queue = queue or queue_for(pool)
        self._url = settings.broker_url
        self._app = None
        self._nodes: dict[str, int] = {}
        """Node name -> its pool's max-concurrency, for the nodes consuming our queue."""
        self._node_info: dict[str, dict] = {}
        """Node name -> what the worker says it runs with (``poolbench_info``), or {}."""

    @property
    def concurrency(self) -> int:
        return sum(self._nodes.values()) if self._nodes else self.settings.concurrency

    def start(self) -> None:
        """Check Redis, wait for a worker on our queue, and warm the connections up.

        One no-op round trip ends the start: it proves a worker runs our task and opens
        the producer and result connections, so that the first batch pays for neither.
        """
        check_redis(self._url)
        self._app = APPS.acquire(self._url)
        try:
            with broker_errors(self._url):
                self._nodes = self._wait_for_workers()
                self._round_trip()
        except BaseException:  # a failed __enter__ gets no __exit__
            self.close()
            raise

    def _wait_for_workers(self) -> dict[str, int]:
        wait = self.settings.worker_timeout
        deadline = time.monotonic() + wait
        while True:
            window = max(0.05, min(POLL_S, deadline - time.monotonic()))
            replies = self._app.control.inspect(timeout=window).active_queues() or {}
            nodes = sorted(
                node for node, queues in replies.items() if any(q.get("name") == self.queue for q in queues)
            )
            if nodes:
                break
            if time.monotonic() >= deadline:
                raise NoWorker(
                    f"no worker consumes queue '{self.queue}' at {mask_url(self._url)} (waited {wait:g} s); "
                    f"start one with `python -m worker --pool {self.pool}` and REDIS_URL set to this broker"
                )
        inspect = self._app.control.inspect(destination=nodes, limit=len(nodes), timeout=max(1.0, window))
        sizes = {node: info["pool"]["max-concurrency"] for node, info in (inspect.stats() or {}).items()}
        if missing := [node for node in nodes if not sizes.get(node)]:
            raise NoWorker(
                f"worker(s) {', '.join(missing)} consume queue '{self.queue}' but did not report their "
                "pool size; are they overloaded?"
            )
        self._node_info = self._read_back(nodes, max(1.0, window))
        return {node: int(sizes[node]) for node in nodes}

    def _read_back(self, nodes: list[str], timeout: float) -> dict[str, dict]:
        """Each worker's real settings; a worker that cannot say is recorded as unknown ({})."""
        replies = self._app.control.broadcast(
            INFO_COMMAND, destination=nodes, reply=True, timeout=timeout, limit=len(nodes)
        )
        found = {node: info for reply in replies or [] for node, info in reply.items()}
        return {node: found[node] if isinstance(found.get(node), dict) else {} for node in nodes}

    def _round_trip(self) -> None:
        result = self._app.send_task(TASK_NAME, args=["sleep", 0], queue=self.queue)
        try:
            value = result.get(timeout=self.settings.worker_timeout, propagate=False)
            if result.state != states.SUCCESS:
                failure = failure_of(value)
                raise NoWorker(
                    f"the workers on queue '{self.queue}' failed a no-op task: "
                    f"{failure['type']}: {failure['message']}"
                )
        except CeleryTimeout:
            result.revoke()
            raise NoWorker(
                f"the workers on queue '{self.queue}' ({', '.join(self._nodes)}) answer but ran no task "
                f"within {self.settings.worker_timeout:g} s; are they stuck on an earlier task?"
            ) from None
        finally:
            result.forget()

    def run_batch(self, spec: str, size: int, tasks: int) -> list[dict]:
        spec = canonical(spec)  # a file path must mean the same file on the worker
        if self.settings.chunks > 1 or self.settings.no_result:
            return self._run_messages(spec, size, tasks)
        deadline = time.monotonic() + self.settings.timeout
        sent = []
        records: list[dict] = []
        with broker_errors(self._url):
            try:
                with self._app.producer_or_acquire() as producer:  # one producer for the batch
                    for index in range(tasks):
                        at = time.time()
                        result = self._app.send_task(
                            TASK_NAME, args=[spec, size], queue=self.queue, producer=producer
                        )
                        sent.append((index, (at, time.time() - at), result))
                for index, at, result in sent:
                    records.append(self._collect(index, at, result, deadline))
                    self.task_done()
            except _Overrun:
                done = len(records) + self._abandon([result for _, _, result in sent[len(records) :]])
                raise BatchTimeout(self.name, done, tasks, self.settings.timeout) from None
            except BaseException:  # Ctrl-C or a lost broker: try not to leave work queued behind us
                with contextlib.suppress(*BROKER_ERRORS):
                    self._abandon([result for _, _, result in sent[len(records) :]])
                raise
        return records

    def _collect(self, index: int, timing: tuple, result, deadline: float) -> dict:
        try:
            value = result.get(timeout=max(0.001, deadline - time.monotonic()), propagate=False)
        except CeleryTimeout:
            raise _Overrun from None
        ok = result.state == states.SUCCESS and isinstance(value, dict)
        record = {**value} if ok else {"error": failure_of(value)}
        sent_at, publish_s = timing
        record.update(index=index, sent=sent_at, publish_s=publish_s, collected=time.time())
        result.forget()  # while later tasks still run: only the last one's costs the batch time
        return record

    def _run_messages(self, spec: str, size: int, tasks: int) -> list[dict]:
        """--chunks and --no-result: the batch travels as :mod:`.messages` says."""
        with broker_errors(self._url):
            return MessageBatch(self._app, self.queue, self.settings, self.name).run(spec, size, tasks)

    def _abandon(self, pending: list) -> int:
        """Revoke the tasks not collected and delete their results; return how many had finished.

        A task already running finishes anyway and stores its result, which then expires
        with the worker's ``result_expires``.
        """
        unfinished = [result.id for result in pending if not result.ready()]
        if unfinished:
            self._app.control.revoke(unfinished)
        for result in pending:
            result.forget()
        return len(pending) - len(unfinished)

    def close(self) -> None:
        if self._app is not None:
            self._app = None
            APPS.release(self._url)

    def caveats(self) -> list[str]:
        caveats = [CAVEATS[self.pool]] if self.pool in CAVEATS else []
        pythons = [info.get("interpreter") or {} for info in self._node_info.values()]
        if self.pool == "gevent" and any(p.get("free_threaded_build") for p in pythons):
            caveats.append(FREE_THREADED_GEVENT)
        return caveats

    def memory_scope(self) -> memory.Scope:
        """The workers' processes, when they are this process's children (embedded)."""
        return worker_scope(self._node_info)

    def settings_info(self) -> dict:
        """The workers' real settings, read back from them: one value where they agree."""
        infos = [self._node_info.get(node, {}) for node in sorted(self._nodes)]
        agreed = {}
        for key in REPORTED:
            values = {repr(info.get(key)) for info in infos}
            agreed[key] = infos[0].get(key) if len(values) == 1 and infos else ("mixed" if infos else None)
        return {
            "queue": self.queue,
            "broker": mask_url(self._url),
            "workers": len(self._nodes),
            "nodes": {node: self._node_info.get(node, {}) for node in sorted(self._nodes)},
            "result_backend": "redis",
            **agreed,
        }


REPORTED = (
    "prefetch_multiplier",
    "prefetch_count",
    "acks_late",
    "reject_on_worker_lost",
    "task_events",
    "mingle",
    "gossip",
    "heartbeat",
    "interpreter",
)
"""What a worker reports of itself, summarised per backend (None: it could not say)."""


class _Overrun(Exception):
    """A result did not arrive before the batch's deadline."""
