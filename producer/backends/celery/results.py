"""The results of a batch, as they land: Redis pub/sub on each task's result key.

Celery's Redis result backend stores a result under ``celery-task-meta-<id>`` and
publishes it on the channel of the same name; ``AsyncResult.get`` waits on that
channel, and so does this, for a whole batch on one connection that poolbench owns:
after a lost connection it resubscribes and reads whatever landed meanwhile
(``fetch``), and nothing is left subscribed on a connection nobody reads.
Subscribing happens before the tasks are sent, so no result can land unheard.
"""

from __future__ import annotations

import io
import itertools
import json
import time
from collections.abc import Iterable, Iterator

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from producer.services.redis import CONNECT_TIMEOUT
from worker import protocol

READY = ("SUCCESS", "FAILURE", "REVOKED")
"""States a task ends in; RETRY is read too (a worker process died and the task goes again)."""
CHUNK = 1000
COMPACT_AT = 1 << 20
"""Bytes already read that the pub/sub connection's reader may keep before they are dropped."""


def result_key(task_id: str) -> str:
    return f"{protocol.RESULT_KEY_PREFIX}{task_id}"


def decode(raw: bytes | str | None) -> dict | None:
    """A stored or published result: ``{"status", "result", "task_id", ...}``; None if unreadable."""
    if raw is None:
        return None
    try:
        meta = json.loads(raw)
    except ValueError:
        return None
    return meta if isinstance(meta, dict) and "task_id" in meta and "status" in meta else None


def _chunks(items: Iterable, size: int = CHUNK) -> Iterator[list]:
    items = iter(items)
    while chunk := list(itertools.islice(items, size)):
        yield chunk


def _pattern(prefix: str) -> str:
    """The result keys of the ids starting with ``prefix``, as a Redis glob."""
    escaped = "".join("\\" + c if c in "*?[]\\" else c for c in prefix)
    return f"{protocol.RESULT_KEY_PREFIX}{escaped}*"


def compact(pubsub) -> None:
    """Drop what the pub/sub connection's reader has read already, once it holds a MB of it.

    redis-py's pure-Python reader (no hiredis) appends each read to one buffer and empties it
    only when a read ends exactly at a reply's end. Read without a pause, a backlog of results
    never does: the buffer kept every result's bytes, 36 MB at 100,000 tasks (issue 20). Called
    between replies; a reader of another shape (hiredis) is left alone.
    """
    reader = getattr(getattr(getattr(pubsub, "connection", None), "_parser", None), "_buffer", None)
    buffer = getattr(reader, "_buffer", None)
    if hasattr(reader, "bytes_written"):  # redis-py 4's reader counts what it read: not ours to touch
        return
    if not isinstance(buffer, io.BytesIO) or buffer.tell() < COMPACT_AT:
        return
    rest = buffer.read()
    buffer.seek(0)
    buffer.truncate()
    buffer.write(rest)
    buffer.seek(0)


class ResultWatcher:
    def __init__(self, url: str):
        self.client = redis.Redis.from_url(
            url,
            socket_connect_timeout=CONNECT_TIMEOUT,
            socket_timeout=protocol.SOCKET_TIMEOUT_S,
            socket_keepalive=True,
            socket_keepalive_options=protocol.transport_options()["socket_keepalive_options"],
            health_check_interval=protocol.HEALTH_CHECK_S,
            retry=Retry(NoBackoff(), 0),  # the batch decides how long to wait for a lost broker
        )
        self._pubsub = None
        self.resets = 0
        """How many times the pub/sub connection was dropped: results published meanwhile were missed."""
        self.watched: set[str] = set()
        self.prefixes: set[str] = set()
        """Task id prefixes whose results are heard by one pattern each (a batch's, :mod:`.task_ids`)."""

    def _channel(self):
        if self._pubsub is None:
            self._pubsub = self.client.pubsub(ignore_subscribe_messages=True)
            if self.watched:
                self._subscribe(sorted(self.watched))
            if self.prefixes:
                self._pubsub.psubscribe(*map(_pattern, sorted(self.prefixes)))
        return self._pubsub

    def _subscribe(self, task_ids: list[str]) -> None:
        for chunk in _chunks(task_ids):
            self._pubsub.subscribe(*map(result_key, chunk))

    def watch(self, task_ids: Iterable[str]) -> None:
        """Subscribe to these tasks' results; call before sending them."""
        new = [task_id for task_id in task_ids if task_id not in self.watched]
        self._channel()
        self.watched.update(new)
        if new:
            self._subscribe(new)

    def watch_prefix(self, prefix: str) -> None:
        """Hear the results of every task whose id starts with ``prefix``; call before sending them."""
        channel = self._channel()
        if prefix not in self.prefixes:
            self.prefixes.add(prefix)
            channel.psubscribe(_pattern(prefix))

    def unwatch_prefix(self, prefix: str) -> None:
        if prefix in self.prefixes:
            self.prefixes.discard(prefix)
            if self._pubsub is not None:
                self._pubsub.punsubscribe(_pattern(prefix))

    def wait(self, timeout: float) -> list[dict]:
        """Results published within ``timeout`` seconds (at least one if any came, at most a
        chunk of 1,000 of a backlog), as metas."""
        channel = self._channel()
        found: list[dict] = []
        deadline = time.monotonic() + timeout
        while True:
            message = channel.get_message(timeout=0 if found else max(0.0, deadline - time.monotonic()))
            if message is not None and message.get("type") in ("message", "pmessage"):
                meta = decode(message["data"])
                if meta is not None:
                    found.append(meta)
                if len(found) < CHUNK:  # a backlog is handed on a chunk at a time: bounded memory
                    continue
                compact(channel)
                return found
            if found or time.monotonic() >= deadline:
                compact(channel)
                return found

    def fetch(self, task_ids: Iterable[str]) -> Iterator[dict]:
        """Results already stored for these tasks (what pub/sub may have missed), read and
        decoded a chunk at a time: however many tasks are pending, one chunk is held."""
        for chunk in _chunks(task_ids):
            yield from filter(None, map(decode, self.client.mget(list(map(result_key, chunk)))))

    def forget(self, task_ids: Iterable[str]) -> int:
        """Stop watching these tasks and delete their results; how many results were there."""
        deleted = 0
        for chunk in _chunks(task_ids):
            deleted += self.client.delete(*map(result_key, chunk))
            watched = [task_id for task_id in chunk if task_id in self.watched]
            self.watched.difference_update(watched)
            if watched and self._pubsub is not None:
                self._pubsub.unsubscribe(*map(result_key, watched))
        return deleted

    def stored_under(self, prefix: str) -> list[str]:
        """The ids starting with ``prefix`` that have a stored result (a SCAN, not one EXISTS an id)."""
        start = len(protocol.RESULT_KEY_PREFIX)
        keys = self.client.scan_iter(match=_pattern(prefix), count=1000)
        return [(key.decode() if isinstance(key, bytes) else key)[start:] for key in keys]

    def stored(self, task_ids: Iterable[str]) -> list[str]:
        """Which of these tasks have a stored result."""
        task_ids = list(task_ids)
        found = []
        for chunk in _chunks(task_ids):
            pipe = self.client.pipeline(transaction=False)
            for task_id in chunk:
                pipe.exists(result_key(task_id))
            found += [task_id for task_id, there in zip(chunk, pipe.execute(), strict=True) if there]
        return found

    def reset(self) -> None:
        """Drop the pub/sub connection; the next call opens a new one and resubscribes."""
        self.resets += 1
        if self._pubsub is not None:
            try:
                self._pubsub.close()
            except (redis.RedisError, OSError):
                pass
            self._pubsub = None

    def close(self) -> None:
        self.reset()
        self.client.close()
