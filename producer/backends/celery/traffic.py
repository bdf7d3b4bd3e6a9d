"""A Celery pool as a traffic target for ``poolbench load`` (:mod:`producer.traffic.steps`).

It reuses the batch backend's start (:class:`CeleryBackend`: Redis checked, a worker
found on the queue, the run's lease, one round trip), then sends each task the moment
the open-loop generator says, with the run's header, and reads results as Redis
publishes them on one pattern subscription made before the first send (so no result
lands unheard, and the reading thread never subscribes while it reads).

Each step's messages are built before it starts (:meth:`prepare`); a send only
publishes one. Task ids are ``<target>-<step>-<index>``. ``abandon`` collects the ids of the step's
messages still queued or held, then ends the run: its messages leave the queue and
``unacked``, the workers drop what they prefetched, and a task already running stores
nothing (:mod:`worker.guard`); a new run begins for the next step. Every result key
read is deleted.
"""

from __future__ import annotations

import contextlib
import secrets
import threading
import time

import redis

from producer.backends import build
from producer.backends.celery import CeleryBackend
from producer.backends.celery.app import BROKER_ERRORS, broker_errors, failure_of
from producer.backends.celery.results import READY, decode, result_key
from producer.services.lifecycle import Started
from producer.services.redis import CONNECT_TIMEOUT
from worker import protocol

READ_S = 0.1
"""The reading thread's longest wait for a message; it checks for its stop between waits."""
LATE_STORE_S = protocol.RUN_CHECK_S + 0.25
"""After a run ends, a worker that checked it alive within RUN_CHECK_S may still store a
result: results of this target's ids are swept once this has passed."""


class CeleryTarget(Started):
    """The Celery family's traffic side (``FamilyEntry.traffic``): one plan row's pool."""

    def __init__(self, row, spec: str, size: int, run_s: float):
        entry = row.spec
        self.name, self.model, self.via, self.pool = row.label, entry.model, entry.via, entry.pool
        self.settings, self.spec, self.size, self.run_s = row.settings, spec, size, run_s
        self.backend = build(row)
        if not isinstance(self.backend, CeleryBackend):
            raise TypeError(f"{row.label}: not a Celery backend")
        self.token = secrets.token_hex(6)
        self.step = 0
        self._lock = threading.Lock()
        self._collected: list[tuple[int, dict, float]] = []
        self._read_keys: list[str] = []
        self._stop = threading.Event()
        self._reader: threading.Thread | None = None
        self._client = None
        self._pubsub = None
        self._producer_cm = None
        self._producer = None
        self._messages: list[tuple] = []
        self._ended_at: float | None = None
        """When the last run ended (monotonic): late results are swept LATE_STORE_S after."""

    @property
    def concurrency(self) -> int:
        return self.backend.concurrency

    def start(self) -> None:
        self.backend.start()
        url = self.backend.url
        with broker_errors(url):
            self._client = redis.Redis.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT)
            self._pubsub = self._client.pubsub(ignore_subscribe_messages=True)
            self._pubsub.psubscribe(result_key(f"{self.token}-*"))
        self._reader = threading.Thread(target=self._read, name="poolbench-load-results", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            try:
                message = self._pubsub.get_message(timeout=READ_S)
            except BROKER_ERRORS:
                return  # the step's check counts what never came as lost
            if not message or message.get("type") != "pmessage":
                continue
            now = time.time()
            meta = decode(message["data"])
            if meta is None or meta.get("status") not in READY:
                continue
            step, _, index = str(meta["task_id"])[len(self.token) + 1 :].partition("-")
            result = meta.get("result")
            record = dict(result) if meta["status"] == "SUCCESS" and isinstance(result, dict) else None
            if record is None:
                record = {"error": failure_of(result)}
            with self._lock:
                self._read_keys.append(result_key(meta["task_id"]))
                if step == str(self.step) and index.isdigit():
                    self._collected.append((int(index), record, now))

    # -- the target contract (producer/traffic/steps.py) -----------------------------

    def begin(self) -> None:
        self.step += 1
        with self._lock:
            self._collected = []
        if self.backend.lease.run_id is None:
            with broker_errors(self.backend.url, "begin a run on"):
                self.backend.lease.begin()
        self._producer_cm = self.backend.app.producer_or_acquire()
        self._producer = self._producer_cm.__enter__()

    def prepare(self, count: int) -> None:
        """Build the step's messages before it starts (Celery's own ``as_task_v2``, as
        ``send_task`` does), so that a send is only kombu's publish: about 2.4x less CPU."""
        amqp, run = self.backend.app.amqp, self.backend.lease.headers
        self._messages = []
        for index in range(count):
            task_id = f"{self.token}-{self.step}-{index}"
            message = amqp.as_task_v2(task_id, protocol.TASK_NAME, args=[self.spec, self.size, index])
            self._messages.append((message.body, {**message.headers, **run}, dict(message.properties)))

    def send(self, index: int, intended: float) -> None:
        body, headers, properties = self._messages[index]
        with broker_errors(self.backend.url, "send a task to"):
            self._producer.publish(
                body,
                exchange="",
                routing_key=self.backend.queue,
                serializer=protocol.SERIALIZER,
                delivery_mode=2,
                headers=headers,
                retry=False,
                **properties,
            )

    def done_count(self) -> int:
        with self._lock:
            return len(self._collected)

    def collected(self) -> list[tuple[int, dict, float]]:
        with self._lock:
            return list(self._collected)

    def abandon(self) -> set[int]:
        """End the step's run: what was queued or held goes, and is returned as indices."""
        self._release_producer()
        lease = self.backend.lease
        with broker_errors(self.backend.url, "purge the step's tasks from"):
            ids = lease.queued_ids() | lease.unacked_ids()
            lease.end()
            self._ended_at = time.monotonic()
        prefix = f"{self.token}-{self.step}-"
        return {
            int(i[len(prefix) :]) for i in ids if i and i.startswith(prefix) and i[len(prefix) :].isdigit()
        }

    def forget(self) -> None:
        """Delete the result keys read so far, and any of this target's stored since."""
        with self._lock:
            keys, self._read_keys = self._read_keys, []
        with contextlib.suppress(*BROKER_ERRORS):
            for start in range(0, len(keys), 1000):
                self._client.delete(*keys[start : start + 1000])
            self._sweep()

    def _sweep(self) -> None:
        """A task that ended just before its run did stored a result nobody reads: delete
        every result of this target's ids (``<token>-*``, ours alone), once none can come."""
        if self._ended_at is not None:
            time.sleep(max(0.0, self._ended_at + LATE_STORE_S - time.monotonic()))
        found = list(self._client.scan_iter(result_key(f"{self.token}-*"), count=1000))
        for start in range(0, len(found), 1000):
            self._client.delete(*found[start : start + 1000])

    def describe(self) -> dict:
        return {"pool": self.pool, "nodes": self.backend.nodes, "concurrency": self.concurrency}

    def _release_producer(self) -> None:
        self._messages = []
        cm, self._producer_cm, self._producer = self._producer_cm, None, None
        if cm is not None:
            with contextlib.suppress(*BROKER_ERRORS):
                cm.__exit__(None, None, None)

    def close(self) -> None:
        """End the run (nothing stays queued), stop reading, delete what was read; safe twice."""
        self._release_producer()
        self._stop.set()
        if self._reader is not None:
            self._reader.join(timeout=protocol.SOCKET_TIMEOUT_S)
            self._reader = None
        ending = self.backend.lease is not None and self.backend.lease.run_id is not None
        self.backend.close()  # the run ends: after LATE_STORE_S no task of ours stores a result
        if ending:
            self._ended_at = time.monotonic()
        if self._client is not None:
            self.forget()
            with contextlib.suppress(*BROKER_ERRORS):
                self._pubsub.close()
            self._client.close()
            self._client = None
