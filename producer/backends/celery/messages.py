"""What each Celery task costs: batches sent in chunks, or without a result backend.

Two knobs change how a batch travels (issue 12), and both keep every task verified:

- ``--chunks N``: Celery's own ``chunks`` primitive puts N calls in one message (a
  ``celery.starmap`` task), so a message's costs (publish, queue, hand-off to a pool
  slot, result) are paid once per N calls. Each call carries its index, which the
  worker echoes, so a batch is still checked index by index, every index once.
- ``--no-result``: fire and forget. Messages ask for no result; instead each task
  stores its record in the batch's Redis hash and counts itself
  (:mod:`worker.completion`), and the producer waits, with the batch's timeout, on a
  list the last task pushes to. The batch's keys are deleted when it ends, whatever
  happens; they expire anyway.

Both travel the default path's way (:mod:`.batch`): through the backend's one app (no
result backend), every message carrying the backend's run id (:mod:`.run`), results
read by the backend's :class:`~.results.ResultWatcher`. A batch that ends early (its
timeout, Ctrl-C, SIGTERM, a lost broker) ends its run: the run key goes, so workers
drop whatever of it they still get (:mod:`worker.guard`) and store nothing for what
they were running, and its messages are purged from the queue and from ``unacked``.
Nothing relies on ``revoke``, whose REVOKED states workers would write after the fact.
What these batches do not share yet is :mod:`.recovery`: a lost Redis ends the batch
at once (BrokerLost, exit 3) instead of being waited for, and a worker lost mid-batch is
not reported; its messages come back through the broker (late acks), or the batch ends
at its timeout.

Every record keeps the timestamps of the per-task breakdown: ``sent`` and
``publish_s`` here, ``received``, ``started``, ``ended`` on the worker, ``collected``
when the producer heard the message's result (no result, no ``collected``). Records of
one chunk share their message's ``message`` number and timestamps.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import time
import uuid
from dataclasses import dataclass

from celery.canvas import chunks

from producer.backends.celery.app import BROKER_ERRORS, failure_of
from producer.backends.celery.results import READY
from producer.errors import BatchTimeout, BrokerLost
from producer.services.redis import mask_url, reason_of
from worker.protocol import CHUNK_TASK, RESULT_EXPIRES_S, TASK_NAME, completion_keys

SCAN_COUNT = 1000
"""``--no-result``: the batch's records are read this many at a time (HSCAN), not in one reply."""
WAIT_SLICE_S = 1.0
"""Longest single wait (a BLPOP, or pub/sub); the deadline is checked between slices, and
results pub/sub may have missed are read after each."""


@dataclass
class Message:
    number: int
    indices: list[int]
    task_id: str
    sent: float
    publish_s: float
    collected: bool = False


class _Overrun(Exception):
    """The batch did not complete before its deadline."""


class MessageBatch:
    """One batch of the backend's, in chunks and/or without results, under the backend's run."""

    def __init__(self, backend):
        self.backend = backend
        self.per_message = max(1, backend.settings.chunks)
        self.no_result = backend.settings.no_result

    def run(self, spec: str, size: int, tasks: int, into) -> list[dict]:
        """Send the batch's messages and append each call's record to ``into``; return it."""
        backend = self.backend
        deadline = time.monotonic() + backend.settings.timeout
        token = secrets.token_hex(8) if self.no_result else None
        keys = completion_keys(token) if token else None
        report = {"token": token, "total": tasks} if token else None
        calls = [[spec, size, index, report] if report else [spec, size, index] for index in range(tasks)]
        client = backend.lease.client
        messages: list[Message] = []
        try:
            try:
                if keys:  # the workers write only while this counter exists (worker.completion)
                    client.set(keys["count"], 0, ex=RESULT_EXPIRES_S)
                messages = self._send(calls)
                if keys:
                    return self._wait_reports(keys, messages, deadline, into)
                return self._collect(messages, deadline, into)
            except _Overrun:
                try:
                    done = self._abandon(messages, keys, tasks)
                except BROKER_ERRORS:  # gone since: what was collected is what is known
                    done = sum(len(message.indices) for message in messages if message.collected)
                raise BatchTimeout(backend.name, done, tasks, backend.settings.timeout) from None
            except BROKER_ERRORS as exc:  # the default path waits for Redis (.recovery); these do not
                with contextlib.suppress(*BROKER_ERRORS):
                    self._abandon(messages, keys, tasks)
                done = sum(len(message.indices) for message in messages if message.collected)
                raise BrokerLost(
                    backend.name,
                    f"lost Redis at {mask_url(backend.url)} mid-batch ({reason_of(exc)}); a --chunks or "
                    f"--no-result batch does not wait for it; {done} of {tasks} tasks collected",
                    done,
                    tasks,
                ) from None
            except BaseException:  # Ctrl-C or SIGTERM: leave nothing behind
                with contextlib.suppress(*BROKER_ERRORS):
                    self._abandon(messages, keys, tasks)
                raise
        finally:
            if keys:
                with contextlib.suppress(*BROKER_ERRORS):
                    client.delete(*keys.values())

    def _send(self, calls: list[list]) -> list[Message]:
        backend = self.backend
        app = backend.app
        if self.per_message > 1:
            parts = chunks(app.signature(TASK_NAME), calls, self.per_message, app=app).group().tasks
            payloads = [
                (CHUNK_TASK, {"kwargs": dict(part.kwargs)}, [call[2] for call in part.kwargs["it"]])
                for part in parts
            ]
        else:
            payloads = [(TASK_NAME, {"args": call}, [call[2]]) for call in calls]
        ids = [str(uuid.uuid4()) for _ in payloads]
        if not self.no_result:
            backend.watcher.watch(ids)  # before sending: no result may land unheard
        options = {"queue": backend.queue, "ignore_result": self.no_result, "headers": backend.lease.headers}
        messages = []
        with app.producer_or_acquire() as producer:  # one producer for the batch
            for number, ((name, payload, indices), task_id) in enumerate(zip(payloads, ids, strict=True)):
                sent, t0 = time.time(), time.perf_counter()
                app.send_task(name, task_id=task_id, producer=producer, **payload, **options)
                messages.append(Message(number, indices, task_id, sent, time.perf_counter() - t0))
        return messages

    def _stamp(self, message: Message, record: dict) -> dict:
        record.update(sent=message.sent, publish_s=message.publish_s)
        if self.per_message > 1:
            record["message"] = message.number
        return record

    def _collect(self, messages: list[Message], deadline: float, into) -> list[dict]:
        """Each message's result as it lands; a message's result is deleted once read."""
        watcher = self.backend.watcher
        waiting = {message.task_id: message for message in messages}
        next_look = time.monotonic() + WAIT_SLICE_S
        while waiting:
            now = time.monotonic()
            if now >= deadline:
                raise _Overrun
            metas = watcher.wait(min(deadline, next_look) - now)
            if time.monotonic() >= next_look:  # what pub/sub may have missed (after a reconnect)
                metas += watcher.fetch(list(waiting))
                next_look = time.monotonic() + WAIT_SLICE_S
            for meta in metas:
                message = waiting.get(meta.get("task_id"))
                if message is None or meta.get("status") not in READY:
                    continue
                del waiting[message.task_id]
                for record in self._records(message, meta):
                    into.append(record)
                message.collected = True
                watcher.forget([message.task_id])  # while later messages still run
        return into

    def _records(self, message: Message, meta: dict) -> list[dict]:
        collected = time.time()
        value = meta.get("result")
        ok = meta.get("status") == "SUCCESS"
        values = value if self.per_message > 1 and isinstance(value, list) else [value]
        if not ok or not all(isinstance(v, dict) for v in values):
            failure = failure_of(value) if not ok else failure_of(values)
            values = [{"index": index, "error": failure} for index in message.indices]
        return [self._stamp(message, {**v, "collected": collected}) for v in values]

    def _wait_reports(self, keys: dict, messages: list[Message], deadline: float, into) -> list[dict]:
        """``--no-result``: wait for the last task's push, then read every task's record."""
        client = self.backend.lease.client
        while not client.blpop([keys["done"]], timeout=self._slice(deadline)):
            if time.monotonic() >= deadline:
                raise _Overrun
        tasks = sum(len(message.indices) for message in messages)
        have, others = bytearray(tasks), set()  # HSCAN may give a field twice: read each once
        for field, raw in client.hscan_iter(keys["records"], count=SCAN_COUNT):
            number = int(field) if field.isdigit() else -1
            if 0 <= number < tasks:
                if have[number]:
                    continue
                have[number] = 1
            elif field in others:  # a second run of a task, under a field of its own
                continue
            else:
                others.add(field)
            record = json.loads(raw)
            message = self._message_of(messages, record.get("index"))
            into.append(self._stamp(message, record) if message else record)
        return into

    def _message_of(self, messages: list[Message], index) -> Message | None:
        """The message that carried task ``index``: chunks are consecutive (``celery.canvas.chunks``)."""
        if not isinstance(index, int) or index < 0:
            return None
        number = index // self.per_message
        if number < len(messages) and index in messages[number].indices:
            return messages[number]
        return next((message for message in messages if index in message.indices), None)

    @staticmethod
    def _slice(deadline: float) -> float:
        return round(max(0.01, min(WAIT_SLICE_S, deadline - time.monotonic())), 3)

    def _abandon(self, messages: list[Message], keys: dict | None, tasks: int) -> int:
        """End the backend's run (its messages purged, its late tasks dropped by the workers),
        delete the results that landed; return how many tasks finished."""
        backend = self.backend
        if keys:
            raws = backend.lease.client.hvals(keys["records"])
            done = len({json.loads(raw).get("index") for raw in raws} & set(range(tasks)))
        else:
            done = sum(len(message.indices) for message in messages if message.collected)
        backend.lease.end()
        if not keys:
            backend.watcher.forget([message.task_id for message in messages])
        return done
