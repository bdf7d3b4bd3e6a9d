"""The worker's round trip to its broker, for ``poolbench_info``: a few Redis PINGs.

Measured on a connection of its own, opened first (its set-up is not counted), when
the producer asks; the median and p99 of :data:`PINGS` round trips. A broker that is
not Redis, or a PING that fails, gives ``None`` with the reason.
"""

from __future__ import annotations

import statistics
import time

PINGS = 10
TIMEOUT_S = 1.0


def broker_rtt(url: str | None, pings: int = PINGS) -> dict | None:
    if not url or not url.startswith(("redis://", "rediss://", "unix://")):
        return None
    import redis

    samples = []
    try:
        with redis.Redis.from_url(url, socket_connect_timeout=TIMEOUT_S, socket_timeout=TIMEOUT_S) as client:
            client.ping()
            for _ in range(pings):
                began = time.perf_counter()
                client.ping()
                samples.append(time.perf_counter() - began)
    except redis.RedisError as exc:
        return {"n": len(samples), "median_ms": None, "p99_ms": None, "error": type(exc).__name__}
    samples.sort()
    return {
        "n": len(samples),
        "median_ms": statistics.median(samples) * 1e3,
        "p99_ms": samples[min(len(samples) - 1, int(len(samples) * 0.99))] * 1e3,
    }
