"""Where a Celery task's time goes, from the timestamps kept at each step.

Each record of a Celery batch carries ``sent`` and ``publish_s`` (the producer, around
its ``send_task`` call), ``received`` (the worker process got the message),
``started`` and ``ended`` (the call itself, where it ran) and ``collected`` (the
producer's ``get()`` returned; absent with ``--no-result``). From them, per message
(a chunk's calls share one):

- ``publish_s``: the producer's ``send_task`` call;
- ``queue_wait_s``: sent -> received by the worker process (includes the publish);
- ``dispatch_s``: received -> the first call started: the hand-off to a pool slot,
  and, with prefetch above 1, the wait of a reserved message for a free slot;
- ``run_s``: started -> ended, per call;
- ``result_back_s``: the message's last call ended -> the producer had the result.
  The producer sends the whole batch first and then takes results in order, so this
  is its own latency: a result that landed while it was still sending, or waiting on
  an earlier task, counts that wait;
- ``slot_gap_s``: between two calls on one pool slot (node, process, thread) within a
  batch, the slot's idle time: acknowledging, storing the result, fetching and handing
  over the next message. This is the per-task overhead that chunking divides;
- ``message_gap_s`` (chunks only): the same between calls of different messages,
  the overhead a chunk pays once for all its calls.

``time.time()`` is compared across processes, and across hosts when the workers run
elsewhere: on one machine (containers included) they share one clock; on different
machines the clocks' offset enters queue wait and result back, which is why the hosts
are recorded beside the figures.
"""

from __future__ import annotations

import heapq
import math
import statistics

from producer.measure.stats import describe

PARTS = ("publish_s", "queue_wait_s", "dispatch_s", "run_s", "result_back_s", "slot_gap_s", "message_gap_s")
LABELS = {
    "publish_s": "publish",
    "queue_wait_s": "queue",
    "dispatch_s": "hand-off",
    "run_s": "run",
    "result_back_s": "result back",
    "slot_gap_s": "slot idle between tasks",
    "message_gap_s": "slot idle between messages",
}
ROUND_TRIPS = {
    "publish_s": 1,
    "queue_wait_s": 1,
    "dispatch_s": 0,
    "run_s": 0,
    "result_back_s": 1,
    "slot_gap_s": 2,
}
"""The fewest broker round trips each part needs (Redis transport, late acks, prefetch 1):
publish waits for Redis's reply to the LPUSH; a message reaches a waiting worker half a
round trip after it reaches Redis, which it reached half a round trip after it was sent;
a result goes worker -> Redis -> the producer's subscription; between two tasks a slot
waits for the ack's reply and then for the next message's fetch. Measured through the
relay (docs/BENCHMARKS.md) the slot's idle time grows by 2.6 (prefork) to 6 (threads)
round trips: these are floors, never the whole."""


def p90(values: list[float]) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=10, method="inclusive")[-1]


def stats_p90(values: list[float]) -> dict:
    """A StatsDict (:func:`producer.measure.stats.describe`) with its 90th percentile."""
    return {**describe(values).as_dict(), "p90": p90(values)}


def messages(records: list[dict]) -> list[list[dict]]:
    """A batch's records grouped by the message that carried them (one each without chunks)."""
    groups: dict = {}
    for record in records:
        key = record.get("message", ("task", record.get("index")))
        groups.setdefault(key, []).append(record)
    return list(groups.values())


def _has(record: dict, *keys: str) -> bool:
    return all(isinstance(record.get(key), (int, float)) for key in keys)


def slot_gaps(records: list[dict], between_messages: bool = False) -> list[float]:
    """Idle time of each pool slot between consecutive calls of one batch (of two messages)."""
    slots: dict = {}
    for record in records:
        if _has(record, "started", "ended"):
            slots.setdefault((record.get("worker"), record.get("pid"), record.get("tid")), []).append(record)
    gaps = []
    for calls in slots.values():
        calls.sort(key=lambda r: r["started"])
        gaps += [
            b["started"] - a["ended"]
            for a, b in zip(calls, calls[1:], strict=False)
            if not between_messages or a.get("message") != b.get("message")
        ]
    return gaps


def collect(batches: list[list[dict]]) -> dict[str, list[float]]:
    """Every part's values over the batches (each a list of task records)."""
    parts: dict[str, list[float]] = {part: [] for part in PARTS}
    for records in batches:
        for message in messages(records):
            first = message[0]
            if _has(first, "publish_s"):
                parts["publish_s"].append(first["publish_s"])
            if _has(first, "sent", "received"):
                parts["queue_wait_s"].append(first["received"] - first["sent"])
            started = [r["started"] for r in message if _has(r, "started")]
            if _has(first, "received") and started:
                parts["dispatch_s"].append(min(started) - first["received"])
            ended = [r["ended"] for r in message if _has(r, "ended")]
            if _has(first, "collected") and ended:
                parts["result_back_s"].append(first["collected"] - max(ended))
        parts["run_s"] += [r["ended"] - r["started"] for r in records if _has(r, "started", "ended")]
        parts["slot_gap_s"] += slot_gaps(records)
        if any("message" in r for r in records):
            parts["message_gap_s"] += slot_gaps(records, between_messages=True)
    return parts


REORDER = 64
"""How far out of order (by start) a slot's records may arrive and still give its gaps
exactly: each slot holds its latest this many, by start, before it reads a gap."""


class Parts:
    """``collect([records])``'s values fed into ``spreads`` (each with an ``add``) as records
    arrive: no record is kept but each slot's latest :data:`REORDER`, for its idle time
    between calls, and with ``--chunks`` (records that name their ``message``) each message's
    first and last call, for its hand-off and its result's way back. :meth:`finish` reads
    what is still held. ``run_s`` is left to the fold (:attr:`producer.measure.fold.Fold.run_s`)."""

    def __init__(self, spreads: dict) -> None:
        self._to = spreads
        self._slots: dict[tuple, list] = {}
        """Each slot's ``[heap of (started, ended, message), the last (ended, message) read]``."""
        self._messages: dict = {}
        """Each message's ``[received, collected, earliest start, latest end]`` (--chunks)."""

    @property
    def messages(self) -> int:
        """Messages met that carried several calls (one-call messages are their records)."""
        return len(self._messages)

    def add(self, record: dict) -> None:
        get, to = record.get, self._to  # once a task, in its batch's clock: no call it can spare
        sent, received, started = get("sent"), get("received"), get("started")
        ended, publish_s, collected = get("ended"), get("publish_s"), get("collected")
        message = get("message")
        chunk = self._messages.get(message) if message is not None else None
        if chunk is None:  # a message's first call: what the message did, once
            if isinstance(publish_s, _NUMBERS):
                to["publish_s"].add(publish_s)
            if isinstance(sent, _NUMBERS) and isinstance(received, _NUMBERS):
                to["queue_wait_s"].add(received - sent)
            if message is not None:
                chunk = self._messages[message] = [received, collected, math.inf, -math.inf]
        timed = isinstance(started, _NUMBERS) and isinstance(ended, _NUMBERS)
        if chunk is not None:  # --chunks: the message's hand-off and way back, at the end
            if timed:
                chunk[2], chunk[3] = min(chunk[2], started), max(chunk[3], ended)
        else:
            if isinstance(received, _NUMBERS) and isinstance(started, _NUMBERS):
                to["dispatch_s"].add(started - received)
            if isinstance(collected, _NUMBERS) and isinstance(ended, _NUMBERS):
                to["result_back_s"].add(collected - ended)
        if timed:
            slot = self._slots.setdefault((get("worker"), get("pid"), get("tid")), [[], None])
            heapq.heappush(slot[0], (started, ended, -1 if message is None else message))
            if len(slot[0]) > REORDER:
                self._gap(slot)

    def _gap(self, slot: list) -> None:
        started, ended, message = heapq.heappop(slot[0])
        if slot[1] is not None:
            last_ended, last_message = slot[1]
            self._to["slot_gap_s"].add(started - last_ended)
            if message != -1 and message != last_message:
                self._to["message_gap_s"].add(started - last_ended)
        slot[1] = (ended, message)

    def finish(self) -> None:
        for slot in self._slots.values():
            while slot[0]:
                self._gap(slot)
        self._slots = {}
        to = self._to
        for received, collected, started, ended in self._messages.values():
            if isinstance(received, _NUMBERS) and started < math.inf:
                to["dispatch_s"].add(started - received)
            if isinstance(collected, _NUMBERS) and ended > -math.inf:
                to["result_back_s"].add(collected - ended)


_NUMBERS = (int, float)


def breakdown(batches: list[list[dict]], producer_host: str | None) -> dict | None:
    """``{part: StatsDict with p90, ..., "hosts", "clock", "messages", "calls"}``; None without
    the producer-side timestamps (local backends)."""
    if not any(_has(r, "sent") for records in batches for r in records):
        return None
    parts = collect(batches)
    hosts = sorted({r["host"] for records in batches for r in records if r.get("host")})
    out: dict = {part: stats_p90(values) for part, values in parts.items() if values}
    out.update(
        hosts=hosts,
        clock="one host" if set(hosts) <= {producer_host} else "across hosts",
        messages=sum(len(messages(records)) for records in batches),
        calls=sum(len(records) for records in batches),
    )
    return out
