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

Every record keeps the timestamps of the per-task breakdown: ``sent`` and
``publish_s`` here, ``received``, ``started``, ``ended`` on the worker, ``collected``
when the producer's ``get()`` returned (no result, no ``collected``). Results are
taken in order, and a ``get()`` first reads the stored result (a GET) before it waits
on pub/sub, so a result that landed early is "collected" when the producer comes to
it: result back is the producer's latency, not Redis's. Records of one chunk share
their message's ``message`` number and timestamps.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import time
from dataclasses import dataclass

from celery import states
from celery.canvas import chunks
from celery.exceptions import TimeoutError as CeleryTimeout

from producer.backends.celery.app import BROKER_ERRORS, failure_of
from producer.errors import BatchTimeout
from worker.protocol import RESULT_EXPIRES_S, TASK_NAME, completion_keys

REVOKE_REPLIES_S = 1.0
"""After a timeout or Ctrl-C: how long the workers' replies to a revoke are waited for."""
WAIT_SLICE_S = 1.0
"""``--no-result``: longest single BLPOP; the deadline is checked between slices."""


@dataclass
class Message:
    number: int
    indices: list[int]
    result: object
    """The message's AsyncResult (its id is what a revoke needs)."""
    sent: float
    publish_s: float


class _Overrun(Exception):
    """The batch did not complete before its deadline."""


class MessageBatch:
    """One batch through ``app`` to ``queue``, in chunks and/or without results."""

    def __init__(self, app, queue: str, settings, name: str):
        self.app, self.queue, self.settings, self.name = app, queue, settings, name
        self.per_message = max(1, settings.chunks)
        self.no_result = settings.no_result

    def run(self, spec: str, size: int, tasks: int) -> list[dict]:
        deadline = time.monotonic() + self.settings.timeout
        token = secrets.token_hex(8) if self.no_result else None
        keys = completion_keys(token) if token else None
        report = {"token": token, "total": tasks} if token else None
        calls = [[spec, size, index, report] if report else [spec, size, index] for index in range(tasks)]
        messages: list[Message] = []
        records: list[dict] = []
        try:
            if keys:  # the workers write only while this counter exists (worker.completion)
                self.app.backend.client.set(keys["count"], 0, ex=RESULT_EXPIRES_S)
            try:
                messages = self._send(calls)
                records = self._wait_reports(keys, messages, deadline) if keys else []
                if not keys:
                    for message in messages:
                        records += self._collect(message, deadline)
            except _Overrun:
                done = self._abandon(messages, keys, tasks)
                raise BatchTimeout(self.name, done, tasks, self.settings.timeout) from None
            except BaseException:  # Ctrl-C or a lost broker: leave no work queued behind us
                with contextlib.suppress(*BROKER_ERRORS):
                    self._abandon(messages, keys, tasks)
                raise
        finally:
            if keys:
                with contextlib.suppress(*BROKER_ERRORS):
                    self.app.backend.client.delete(*keys.values())
        return records

    def _send(self, calls: list[list]) -> list[Message]:
        options = {"queue": self.queue, "ignore_result": self.no_result}
        if self.per_message > 1:
            parts = chunks(self.app.signature(TASK_NAME), calls, self.per_message, app=self.app).group().tasks
            payloads = [(part, [call[2] for call in part.kwargs["it"]]) for part in parts]
        else:
            payloads = [(call, [call[2]]) for call in calls]
        messages = []
        with self.app.producer_or_acquire() as producer:  # one producer for the batch
            for number, (payload, indices) in enumerate(payloads):
                sent = time.time()
                t0 = time.perf_counter()
                if self.per_message > 1:
                    result = payload.apply_async(producer=producer, **options)
                else:
                    result = self.app.send_task(TASK_NAME, args=payload, producer=producer, **options)
                messages.append(Message(number, indices, result, sent, time.perf_counter() - t0))
        return messages

    def _stamp(self, message: Message, record: dict) -> dict:
        record.update(sent=message.sent, publish_s=message.publish_s)
        if self.per_message > 1:
            record["message"] = message.number
        return record

    def _collect(self, message: Message, deadline: float) -> list[dict]:
        result = message.result
        try:
            value = result.get(timeout=max(0.001, deadline - time.monotonic()), propagate=False)
        except CeleryTimeout:
            raise _Overrun from None
        collected = time.time()
        ok = result.state == states.SUCCESS
        values = value if self.per_message > 1 and isinstance(value, list) else [value]
        if not ok or not all(isinstance(v, dict) for v in values):
            failure = failure_of(value) if not ok else failure_of(values)
            values = [{"index": index, "error": failure} for index in message.indices]
        result.forget()  # while later messages still run
        message.result = None
        return [self._stamp(message, {**v, "collected": collected}) for v in values]

    def _wait_reports(self, keys: dict, messages: list[Message], deadline: float) -> list[dict]:
        """``--no-result``: wait for the last task's push, then read every task's record."""
        client = self.app.backend.client
        while not client.blpop([keys["done"]], timeout=self._slice(deadline)):
            if time.monotonic() >= deadline:
                raise _Overrun
        by_index = {index: message for message in messages for index in message.indices}
        records = []
        for raw in client.hvals(keys["records"]):
            record = json.loads(raw)
            message = by_index.get(record.get("index"))
            records.append(self._stamp(message, record) if message else record)
        return records

    @staticmethod
    def _slice(deadline: float) -> float:
        return round(max(0.01, min(WAIT_SLICE_S, deadline - time.monotonic())), 3)

    def _abandon(self, messages: list[Message], keys: dict | None, tasks: int) -> int:
        """Revoke what has not finished, forget stored results; return how many tasks finished."""
        if keys:
            reported = {
                json.loads(raw).get("index") for raw in self.app.backend.client.hvals(keys["records"])
            }
            self._revoke([m.result.id for m in messages if not set(m.indices) <= reported])
            return len(reported & set(range(tasks)))
        pending = [m for m in messages if m.result is not None]
        unfinished = [m.result.id for m in pending if not m.result.ready()]
        self._revoke(unfinished)
        for message in pending:
            message.result.forget()
        done = {i for m in messages if m.result is None or m.result.id not in unfinished for i in m.indices}
        return len(done)

    def _revoke(self, ids: list[str]) -> None:
        """Revoke, wait for the workers' replies, then delete the states they stored.

        Celery 5.7's ``revoke`` makes every worker that does not hold the task write a
        REVOKED state to the result backend, message-level ``ignore_result`` or not:
        those writes are done once the replies are in, and deleted here.
        """
        if not ids:
            return
        self.app.control.revoke(ids, reply=True, timeout=REVOKE_REPLIES_S)
        for task_id in ids:
            self.app.backend.forget(task_id)
