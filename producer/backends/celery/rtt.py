"""The broker's round trip as the producer sees it: Redis PINGs before and during a run.

Before: :data:`BEFORE_PINGS` PINGs back to back when the backend starts, on a
connection of their own (opened first, so its set-up is not counted). During: a
thread sends one PING every :data:`DURING_EVERY_S` while the backend lives, so the
figure includes whatever the batches do to Redis and to the link. Both are summarised
as median and p99 with their count; a PING that fails is counted, not timed.

The worker's own round trip comes from the worker (``poolbench_info``, worker/rtt.py).
"""

from __future__ import annotations

import contextlib
import statistics
import threading
import time

import redis

BEFORE_PINGS = 30
DURING_EVERY_S = 0.1
MOST_SAMPLES = 5000
"""Samples kept during a run (about 8 minutes at one every 0.1 s); later ones are counted only."""
TIMEOUT_S = 2.0
STALL_S = 1.0
"""A PING slower than this, or failed, is a stall of the producer's path to Redis: said as an
incident of the batch it fell in (a short network fault the recovery absorbed)."""


def summary(samples_s: list[float], failed: int = 0) -> dict:
    """``{"n", "median_ms", "p99_ms", "max_ms", "failed"}`` of round trips in seconds."""
    if not samples_s:
        return {"n": 0, "median_ms": None, "p99_ms": None, "max_ms": None, "failed": failed}
    ordered = sorted(samples_s)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return {
        "n": len(ordered),
        "median_ms": statistics.median(ordered) * 1e3,
        "p99_ms": p99 * 1e3,
        "max_ms": ordered[-1] * 1e3,
        "failed": failed,
    }


def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=TIMEOUT_S, socket_timeout=TIMEOUT_S)


def ping_once(client: redis.Redis) -> float:
    began = time.perf_counter()
    client.ping()
    return time.perf_counter() - began


def measure_rtt(url: str, count: int = BEFORE_PINGS) -> dict:
    """``count`` PINGs back to back on a connection opened first; their summary."""
    samples, failed = [], 0
    with contextlib.closing(_client(url)) as client:
        with contextlib.suppress(redis.RedisError):
            client.ping()  # opens the connection, not counted
        for _ in range(count):
            try:
                samples.append(ping_once(client))
            except redis.RedisError:
                failed += 1
    return summary(samples, failed)


class RttSampler:
    """One PING every ``every_s`` on a thread of its own, from ``start`` to ``stop``."""

    def __init__(self, url: str, every_s: float = DURING_EVERY_S):
        self.url = url
        self.every_s = every_s
        self.samples: list[float] = []
        self.failed = 0
        self.stalls = 0
        """PINGs that failed or took over :data:`STALL_S`."""
        self._stalls_seen = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> RttSampler:
        self._thread = threading.Thread(target=self._run, name="poolbench-rtt", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        client = _client(self.url)
        try:
            while not self._stop.wait(self.every_s):
                try:
                    rtt = ping_once(client)
                except redis.RedisError:
                    self.failed += 1
                    self.stalls += 1
                    continue
                self.stalls += rtt > STALL_S
                if len(self.samples) < MOST_SAMPLES:
                    self.samples.append(rtt)
        finally:
            client.close()

    def stop(self) -> dict:
        """Stop sampling (within one PING's timeout); the summary so far."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=TIMEOUT_S * 2 + self.every_s)
        return self.result()

    def result(self) -> dict:
        return summary(list(self.samples), self.failed)

    def new_stalls(self) -> int:
        """Stalls since the last call (a batch's, when called after each batch)."""
        stalls = self.stalls
        new, self._stalls_seen = stalls - self._stalls_seen, stalls
        return new


class BrokerRtt:
    """One backend's round trip to Redis: :data:`BEFORE_PINGS` PINGs when it starts, then
    one every :data:`DURING_EVERY_S` on a thread until :meth:`stop`."""

    def __init__(self, url: str):
        self.before = measure_rtt(url)
        self.during = RttSampler(url).start()

    def stop(self) -> None:
        self.during.stop()

    def describe(self) -> dict:
        return {"before": self.before, "during": self.during.result()}
