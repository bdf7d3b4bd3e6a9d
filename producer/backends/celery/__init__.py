"""Celery workers over Redis: one backend, with the worker pool as its parameter.

The producer reaches workers only through Celery, by task name and queue; the queue
is named after the pool, so ``celery-threads`` reaches threads workers only.
``run_batch`` (:mod:`.batch`) sends every task through one producer held for the
batch (about 8% less of the producer's CPU per task than one taken from the pool per
task), having subscribed to every result first, then collects the results as Redis
publishes them: the same pub/sub wake-up ``AsyncResult.get`` uses, where
``GroupResult.get`` would poll in half-second steps. Every message names the backend's
run (:mod:`.run`), and whatever goes wrong on the way (a worker or Redis lost, a task
delivered twice) is recorded as an incident and reported with the backend's numbers.
``--chunks`` and ``--no-result`` batches travel as :mod:`.messages` says, under the same
run and through the same app and result watcher.
"""

from __future__ import annotations

import contextlib
import time
import uuid

from producer.backends.base import Backend
from producer.backends.celery import info, overhead
from producer.backends.celery.app import APPS, BROKER_ERRORS, broker_errors
from producer.backends.celery.batch import CeleryBatch
from producer.backends.celery.caveats import CAVEATS, caveats_of
from producer.backends.celery.footprint import worker_scope
from producer.backends.celery.liveness import Liveness, parse, told
from producer.backends.celery.messages import MessageBatch
from producer.backends.celery.results import ResultWatcher
from producer.backends.celery.rtt import BrokerRtt
from producer.backends.celery.run import RunLease
from producer.errors import BrokerLost, BrokerUnavailable, NoWorker, TasksLost
from producer.measure import memory
from producer.measure.records import Records
from producer.services.redis import check_redis, mask_url, reason_of
from worker.protocol import INFO_COMMAND, heartbeat_key, queue_for
from workloads import canonical

POLL_S = 0.5
"""How long each round of ``inspect().active_queues()`` collects replies."""
MOST_INCIDENTS = 20
"""Incidents kept in the report per backend; later ones are counted only."""


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
        self.lease: RunLease | None = None
        self.watcher: ResultWatcher | None = None
        self.liveness = Liveness()
        self.redis_run_id: str | None = None
        """Redis's own ``run_id``: a new one means it restarted and lost what it held."""
        self.broker_lost = False
        self.incidents: list[dict] = []
        self.incident_count = 0
        self.id_prefix = f"pb-{uuid.uuid4().hex[:16]}-"
        """Every task id of this backend's batches starts so (:mod:`.task_ids`): a result stored
        under it after its batch is a task that ran again."""
        self._batches = 0
        self._round = 0
        self._batch_incidents: list[str] = []
        self._batch_began = self._lost_until = 0.0
        """When the current batch began, and when a batch that lost Redis ended (monotonic)."""
        self.rtt: BrokerRtt | None = None
        """The producer's round trip to Redis: PINGs at start, and one every 0.1 s until closed."""

    @property
    def url(self) -> str:
        return self._url

    @property
    def app(self):
        """The producer's Celery app (shared per broker URL): sends tasks and control commands."""
        return self._app

    @property
    def nodes(self) -> list[str]:
        """The workers found on the queue at start."""
        return sorted(self._nodes)

    @property
    def concurrency(self) -> int:
        return sum(self._nodes.values()) if self._nodes else self.settings.concurrency

    def start(self) -> None:
        """Check Redis, wait for a worker on our queue, and warm the connections up.

        One no-op round trip ends the start: it proves a worker runs our task and opens
        the producer and result connections, so that the first batch pays for neither.
        """
        self.redis_run_id = check_redis(self._url).get("run_id")
        self.rtt = BrokerRtt(self._url)
        self._app = APPS.acquire(self._url)
        try:
            with broker_errors(self._url):
                self.lease = RunLease(self._url, self.queue)
                self.watcher = ResultWatcher(self._url)
                self._nodes = self._wait_for_workers()
                self.lease.begin()
                self._round_trip()
                # outside the batches; not on a pool that stalls when its slots are all busy
                self.message_cost = None if self.pool in CAVEATS else overhead.measure(self, CeleryBatch)
                self._round_trip_done()
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
        deadline = time.monotonic() + self.settings.worker_timeout
        try:
            record = self._through(CeleryBatch(self, "sleep", 0, 1), deadline)[0]
        except BrokerLost:
            raise
        except TasksLost:
            raise NoWorker(
                f"the workers on queue '{self.queue}' ({', '.join(self._nodes)}) answer but ran no task "
                f"within {self.settings.worker_timeout:g} s; are they stuck on an earlier task?"
            ) from None
        if "error" in record:
            failure = record["error"]
            raise NoWorker(
                f"the workers on queue '{self.queue}' failed a no-op task: "
                f"{failure['type']}: {failure['message']}"
            )
        self._round_trip_done()

    def _round_trip_done(self) -> None:
        """What start-up met is not the measurement's: no incident carries over."""
        self.incidents.clear()
        self.incident_count = 0
        self._batch_incidents = []

    def run_batch(self, spec: str, size: int, tasks: int, into=None) -> Records | list[dict]:
        """One batch under the backend's run: the default path (:mod:`.batch`), or, with
        --chunks or --no-result, :mod:`.messages`."""
        spec = canonical(spec)  # a file path must mean the same file on the worker
        deadline = time.monotonic() + self.settings.timeout
        self._round += 1
        self._batch_incidents = []
        self._batch_began = time.monotonic()
        try:
            if self.broker_lost:  # an earlier batch lost it: fail at once unless it is back
                self.redis_run_id = check_redis(self._url).get("run_id")
                self.broker_lost = False
            if self.lease.run_id is None:  # an earlier batch ended early, and its run with it
                self.lease.begin()
        except (*BROKER_ERRORS, BrokerUnavailable) as exc:
            raise BrokerLost(
                self.name, f"Redis at {mask_url(self._url)} cannot be reached ({reason_of(exc)})", 0, tasks
            ) from None
        if self.settings.chunks > 1 or self.settings.no_result:
            try:
                return MessageBatch(self).run(spec, size, tasks, Records() if into is None else into)
            except BrokerLost:
                self.broker_lost = True  # the next batch fails at once unless Redis is back
                raise
        return self._through(CeleryBatch(self, spec, size, tasks, into), deadline)

    def _through(self, batch: CeleryBatch, deadline: float) -> list[dict]:
        """Run a batch, then take what it found: Redis's run id, a lost Redis."""
        try:
            records = batch.run(deadline)
        except BrokerLost:
            self.broker_lost = True  # the next batch fails at once unless Redis is back
            raise
        finally:
            self.redis_run_id = batch.redis_run_id
        return records

    def batch_prefix(self) -> str:
        """The task id prefix of a new batch: this backend's, and the batch's number."""
        self._batches += 1
        return f"{self.id_prefix}{self._batches}."

    def incident(self, kind: str, detail: str, batch: bool = True) -> None:
        """Something went wrong and was dealt with: reported with its batch (unless it did not
        touch the batch), and with the run."""
        self.incident_count += 1
        if batch:
            self._batch_incidents.append(detail)
        if len(self.incidents) < MOST_INCIDENTS:
            self.incidents.append({"kind": kind, "batch": self._round, "detail": detail})

    def disturbances(self, records: list[dict]) -> list[str]:
        """Redelivered tasks (the base class reads them from the records), and what the batch met.

        Called after each batch, outside its clock: the place to look for a task of an earlier
        batch that ran again (:meth:`_late_duplicates`), so that ``describe()`` only reads.
        """
        if self.watcher is not None:
            self._late_duplicates()
        stalled = self.rtt.during.new_stalls() if self.rtt is not None else 0
        lost = any(i["kind"] == "broker" and i["batch"] == self._round for i in self.incidents)
        if stalled and not lost:  # a lost Redis is said already, by the recovery
            self.incident("network", f"{stalled} PING(s) of the producer to Redis failed or took over 1 s")
        if self.liveness.known:  # an outage that ended as the batch did, too (outside its clock)
            with contextlib.suppress(*BROKER_ERRORS):
                beats = self.lease.client.hgetall(heartbeat_key(self.queue))
                self.liveness.read_outages(parse(beats))
        if lost:
            self._lost_until = time.monotonic()
        outages = self.liveness.outages()  # the workers' own account of their links
        held = self.rtt is not None and not stalled  # the producer's own PINGs went through
        for sentence, in_batch in told(outages, self._batch_began, self._lost_until, held):
            self.incident("network", sentence, batch=in_batch)
        found, self._batch_incidents = self._batch_incidents, []
        return super().disturbances(records) + found

    def _late_duplicates(self) -> None:
        """Results stored under this backend's ids after their batch ended: a task that ran twice
        (its result collected, or a copy sent again collected in its place)."""
        with contextlib.suppress(*BROKER_ERRORS):
            again = self.watcher.stored_under(self.id_prefix)
            if again:
                self.watcher.forget(again)
                self.incident("duplicate", f"{len(again)} task(s) ran again after their result was collected")

    def close(self) -> None:
        if self.rtt is not None:
            self.rtt.stop()
        if self.lease is not None:
            self.lease.close()  # ends the run: its queued and held messages go
            self.lease = None
        if self.watcher is not None:
            with contextlib.suppress(*BROKER_ERRORS):
                self.watcher.forget(self.watcher.stored_under(self.id_prefix))  # a late second run's result
            self.watcher.close()
            self.watcher = None
        if self._app is not None:
            self._app = None
            APPS.release(self._url)

    def caveats(self) -> list[str]:
        pythons = [info.get("interpreter") or {} for info in self._node_info.values()]
        return caveats_of(self.pool, pythons, self.incidents, self.incident_count)

    def memory_scope(self) -> memory.Scope:
        """The workers' processes, when they are this process's children (embedded)."""
        return worker_scope(self._node_info)

    def settings_info(self) -> dict:
        """The workers' real settings, read back from them (:func:`.info.settings_info`)."""
        return info.settings_info(self, self._node_info)
