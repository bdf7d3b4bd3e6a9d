"""The results of a batch, as they land: Redis pub/sub on each task's result key.

Celery's Redis result backend stores a result under ``celery-task-meta-<id>`` and
publishes it on the channel of the same name; ``AsyncResult.get`` waits on that
channel, and so does this, for a whole batch on one connection that poolbench owns:
after a lost connection it resubscribes and reads whatever landed meanwhile
(``fetch``), and nothing is left subscribed on a connection nobody reads.
Subscribing happens before the tasks are sent, so no result can land unheard.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from producer.services.redis import CONNECT_TIMEOUT
from worker import protocol

READY = ("SUCCESS", "FAILURE", "REVOKED")
"""States a task ends in; RETRY is read too (a worker process died and the task goes again)."""
_CHUNK = 1000


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


def _chunks(items: list, size: int = _CHUNK):
    for start in range(0, len(items), size):
        yield items[start : start + size]


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
        self.watched: set[str] = set()

    def _channel(self):
        if self._pubsub is None:
            self._pubsub = self.client.pubsub(ignore_subscribe_messages=True)
            if self.watched:
                self._subscribe(sorted(self.watched))
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

    def wait(self, timeout: float) -> list[dict]:
        """Results published within ``timeout`` seconds (at least one if any came), as metas."""
        channel = self._channel()
        found: list[dict] = []
        deadline = time.monotonic() + timeout
        while True:
            message = channel.get_message(timeout=0 if found else max(0.0, deadline - time.monotonic()))
            if message is not None and message.get("type") == "message":
                meta = decode(message["data"])
                if meta is not None:
                    found.append(meta)
                continue
            if found or time.monotonic() >= deadline:
                return found

    def fetch(self, task_ids: Iterable[str]) -> list[dict]:
        """Results already stored for these tasks (what pub/sub may have missed)."""
        found = []
        for chunk in _chunks(list(task_ids)):
            found += [meta for meta in map(decode, self.client.mget(list(map(result_key, chunk)))) if meta]
        return found

    def forget(self, task_ids: Iterable[str]) -> int:
        """Stop watching these tasks and delete their results; how many results were there."""
        task_ids = list(task_ids)
        self.watched.difference_update(task_ids)
        deleted = 0
        for chunk in _chunks(task_ids):
            deleted += self.client.delete(*map(result_key, chunk))
            if self._pubsub is not None:
                self._pubsub.unsubscribe(*map(result_key, chunk))
        return deleted

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
        if self._pubsub is not None:
            try:
                self._pubsub.close()
            except (redis.RedisError, OSError):
                pass
            self._pubsub = None

    def close(self) -> None:
        self.reset()
        self.client.close()
