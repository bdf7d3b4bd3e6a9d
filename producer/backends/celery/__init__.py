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
``--chunks`` and ``--no-result`` batches travel as :mod:`.messages` says.
"""

from __future__ import annotations

import contextlib
import time

from producer.backends.base import Backend
from producer.backends.celery.app import APPS, BROKER_ERRORS, broker_errors
from producer.backends.celery.batch import CeleryBatch
from producer.backends.celery.footprint import worker_scope
from producer.backends.celery.liveness import Liveness
from producer.backends.celery.messages import MessageBatch
from producer.backends.celery.recovery import BROKER_WAIT_S
from producer.backends.celery.results import ResultWatcher
from producer.backends.celery.rtt import RttSampler, measure_rtt
from producer.backends.celery.run import RunLease
from producer.errors import BrokerLost, BrokerUnavailable, NoWorker, TasksLost
from producer.measure import memory
from producer.services.redis import check_redis, mask_url, reason_of
from worker import protocol
from worker.protocol import INFO_COMMAND, queue_for
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

MOST_INCIDENTS = 20
"""Incidents kept in the report per backend; later ones are counted only."""


class CeleryBackend(Backend):
    def __init__(self, settings, pool: str, queue: str | None = None):
        super().__init__(settings)
        self.pool = pool
        self.queue = queue or queue_for(pool)
        self._url = settings.broker_url
        self._app = None
        self._results_app = None
        """An app with Celery's result backend, for --chunks and --no-result only."""
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
        self.collected: list[str] = []
        """Ids of every task collected: a result stored again later is a duplicate run."""
        self._round = 0
        self._batch_incidents: list[str] = []
        self.rtt_before: dict | None = None
        self.rtt_during: RttSampler | None = None
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
        self.rtt_before = measure_rtt(self._url)
        self.rtt_during = RttSampler(self._url).start()
        self._app = APPS.acquire(self._url)
        try:
            with broker_errors(self._url):
                self.lease = RunLease(self._url, self.queue)
                self.watcher = ResultWatcher(self._url)
                self._nodes = self._wait_for_workers()
                self.lease.begin()
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
        deadline = time.monotonic() + self.settings.worker_timeout
        try:
            record = CeleryBatch(self, "sleep", 0, 1).run(deadline)[0]
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
        self.incidents.clear()
        self.incident_count = 0
        self._batch_incidents = []

    def run_batch(self, spec: str, size: int, tasks: int) -> list[dict]:
        spec = canonical(spec)  # a file path must mean the same file on the worker
        if self.settings.chunks > 1 or self.settings.no_result:
            return self._run_messages(spec, size, tasks)
        deadline = time.monotonic() + self.settings.timeout
        self._round += 1
        self._batch_incidents = []
        try:
            if self.broker_lost:  # an earlier batch lost it: fail at once unless it is back
                self.redis_run_id = check_redis(self._url).get("run_id")
                self.broker_lost = False
            if self.lease.run_id is None:
                self.lease.begin()
        except (*BROKER_ERRORS, BrokerUnavailable) as exc:
            raise BrokerLost(
                self.name, f"Redis at {mask_url(self._url)} cannot be reached ({reason_of(exc)})", 0, tasks
            ) from None
        return CeleryBatch(self, spec, size, tasks).run(deadline)

    def _run_messages(self, spec: str, size: int, tasks: int) -> list[dict]:
        """--chunks and --no-result: the batch travels as :mod:`.messages` says (through an app
        with Celery's result backend, which those need; made on first use)."""
        if self._results_app is None:
            self._results_app = APPS.acquire(self._url, results=True)
        with broker_errors(self._url):
            batch = MessageBatch(self._results_app, self.queue, self.settings, self.name)
            return batch.run(spec, size, tasks)

    def incident(self, kind: str, detail: str) -> None:
        """Something went wrong and was dealt with: reported with its batch, and with the run."""
        self.incident_count += 1
        self._batch_incidents.append(detail)
        if len(self.incidents) < MOST_INCIDENTS:
            self.incidents.append({"kind": kind, "batch": self._round, "detail": detail})

    def disturbances(self, records: list[dict]) -> list[str]:
        """Redelivered tasks (the base class reads them from the records), and what the batch met."""
        found, self._batch_incidents = self._batch_incidents, []
        return super().disturbances(records) + found

    def _late_duplicates(self) -> None:
        """Results stored again after they were collected: a task that ran twice."""
        with contextlib.suppress(*BROKER_ERRORS):
            again = self.watcher.stored(self.collected)
            if again:
                self.watcher.forget(again)
                self.incident("duplicate", f"{len(again)} task(s) ran again after their result was collected")

    def close(self) -> None:
        if self.rtt_during is not None:
            self.rtt_during.stop()
        if self.lease is not None:
            self.lease.close()  # ends the run: its queued and held messages go
            self.lease = None
        if self.watcher is not None:
            with contextlib.suppress(*BROKER_ERRORS):
                self.watcher.forget(self.collected)  # a late second run's result, if any
            self.watcher.close()
            self.watcher = None
        if self._results_app is not None:
            self._results_app = None
            APPS.release(self._url, results=True)
        if self._app is not None:
            self._app = None
            APPS.release(self._url)

    def caveats(self) -> list[str]:
        caveats = [CAVEATS[self.pool]] if self.pool in CAVEATS else []
        pythons = [info.get("interpreter") or {} for info in self._node_info.values()]
        if self.pool == "gevent" and any(p.get("free_threaded_build") for p in pythons):
            caveats.append(FREE_THREADED_GEVENT)
        if self.incident_count:
            kinds = sorted({incident["kind"] for incident in self.incidents})
            caveats.append(
                f"faults during the run ({self.incident_count}: {', '.join(kinds)}; see the disturbed "
                "rounds and settings.faults): the times of those rounds include the recovery"
            )
        return caveats

    def describe(self):
        if self.watcher is not None:
            self._late_duplicates()  # first: it may add to the caveats
        return super().describe()

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
            "broker_rtt": {
                "before": self.rtt_before,
                "during": self.rtt_during.result() if self.rtt_during else None,
            },
            **agreed,
            "faults": {
                "visibility_timeout_s": protocol.VISIBILITY_TIMEOUT_S,
                "lease_renew_s": protocol.LEASE_RENEW_S,
                "max_deliveries": protocol.MAX_DELIVERIES,
                "broker_wait_s": BROKER_WAIT_S,
                "incidents": list(self.incidents),
                "incident_count": self.incident_count,
            },
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
