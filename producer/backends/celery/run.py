"""A Celery backend's run: an id in every message, a key that says it is alive, and a purge.

Every task this backend sends carries ``RUN_HEADER: run id``. The run key exists while
the run does: a thread refreshes it every RUN_TTL_S / 5 seconds with a TTL of
RUN_TTL_S, so it outlives neither a clean end (``end`` deletes it) nor a killed
producer (it expires). Workers drop the messages of a run whose key is gone
(:mod:`worker.guard`), so what an abandoned batch left queued never runs later, even
on a worker that starts tomorrow. ``end`` also removes the run's messages from the
queue and from kombu's ``unacked`` hash at once, so nothing of it stays in Redis.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import threading

import redis
from kombu.transport.redis import Channel
from redis.backoff import NoBackoff
from redis.retry import Retry

from producer.services.redis import CONNECT_TIMEOUT
from worker import protocol

REFRESH_S = protocol.RUN_TTL_S / 5
_PRIORITY_SUFFIXES = ("",) + tuple(f"{Channel.sep}{step}" for step in Channel.priority_steps if step)
"""kombu keeps a queue's messages of priority n (n > 0) in a list of its own."""


class RunLease:
    def __init__(self, url: str, queue: str):
        self.queue = queue
        self.client = redis.Redis.from_url(
            url,
            socket_connect_timeout=CONNECT_TIMEOUT,
            socket_timeout=protocol.SOCKET_TIMEOUT_S,
            retry=Retry(NoBackoff(), 0),
        )
        self.run_id: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def headers(self) -> dict:
        return {protocol.RUN_HEADER: self.run_id}

    def begin(self) -> str:
        """Start a new run (raises the broker's errors if it cannot be marked alive)."""
        self.run_id = secrets.token_hex(8)
        self.refresh()
        if self._thread is None:
            self._thread = threading.Thread(target=self._keep_alive, name="poolbench-run", daemon=True)
            self._thread.start()
        return self.run_id

    def refresh(self) -> None:
        if self.run_id is not None:
            self.client.set(protocol.run_key(self.run_id), "1", ex=protocol.RUN_TTL_S)

    def _keep_alive(self) -> None:
        while not self._stop.wait(REFRESH_S):
            with contextlib.suppress(redis.RedisError, OSError):
                self.refresh()

    def end(self) -> int:
        """End the run: its key first (workers then drop its messages), then purge them.

        Returns how many of its messages were still queued or held; raises the broker's
        errors (the key then expires on its own within RUN_TTL_S).
        """
        run_id, self.run_id = self.run_id, None
        if run_id is None:
            return 0
        self.client.delete(protocol.run_key(run_id), protocol.deliveries_key(run_id))
        return self.purge(run_id)

    def queued_ids(self) -> set[str]:
        """Task ids of this run's messages still on the queue."""
        found = set()
        for suffix in _PRIORITY_SUFFIXES:
            for raw in self.client.lrange(f"{self.queue}{suffix}", 0, -1):
                with contextlib.suppress(ValueError, TypeError, KeyError, AttributeError):
                    headers = json.loads(raw)["headers"]
                    if headers.get(protocol.RUN_HEADER) == self.run_id:
                        found.add(headers.get("id"))
        return found

    def unacked_ids(self) -> set[str]:
        """Task ids of this run's messages delivered to a worker and not acknowledged."""
        found = set()
        for _tag, raw in self.client.hscan_iter(Channel.unacked_key, count=1000):
            with contextlib.suppress(ValueError, TypeError, KeyError, IndexError, AttributeError):
                headers = json.loads(raw)[0]["headers"]
                if headers.get(protocol.RUN_HEADER) == self.run_id:
                    found.add(headers.get("id"))
        return found

    def purge(self, run_id: str) -> int:
        """Remove the run's messages from its queue and from ``unacked``; how many there were."""
        removed = 0
        for suffix in _PRIORITY_SUFFIXES:
            key = f"{self.queue}{suffix}"
            for raw in self.client.lrange(key, 0, -1):
                if _run_of(raw) == run_id:
                    removed += self.client.lrem(key, 1, raw)
        tags = [
            tag
            for tag, raw in self.client.hscan_iter(Channel.unacked_key, count=1000)
            if _run_of(raw, wrapped=True) == run_id
        ]
        if tags:
            pipe = self.client.pipeline(transaction=False)
            pipe.hdel(Channel.unacked_key, *tags)
            pipe.zrem(Channel.unacked_index_key, *tags)
            removed += pipe.execute()[0]
        return removed

    def close(self) -> None:
        """End the run if still open (best effort: a lost broker lets its key expire), stop the thread."""
        self._stop.set()
        with contextlib.suppress(redis.RedisError, OSError):
            self.end()
        self.run_id = None
        if self._thread is not None:
            self._thread.join(timeout=protocol.SOCKET_TIMEOUT_S)
        self.client.close()


def _run_of(raw: bytes, wrapped: bool = False) -> str | None:
    """The run id in a queued message (``wrapped``: an ``unacked`` entry, ``[message, exchange, key]``)."""
    try:
        payload = json.loads(raw)
        if wrapped:
            payload = payload[0]
        return payload["headers"].get(protocol.RUN_HEADER)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError):
        return None
