"""The open-loop generator: send each task at its intended time, never wait for a result.

A task's latency is measured from its *intended* send time, so a generator that
falls behind cannot hide a slow backend; but a generator that falls far behind no
longer offers the rate it claims. Its lag (actual send minus intended) is recorded
for every task, and a step whose lag's 99th percentile exceeds LAG_LIMIT_S is
refused. The clock and the sleep are parameters, so the logic is tested without
sleeping.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

LAG_LIMIT_S = 0.010
"""A step whose generator's p99 lag exceeds this ..."""
LAG_SHARE = 0.10
"""... and this share of the step's p99 latency is refused: the generator, not the pool, set it."""
CEILING_SENDS = 2000
"""Sends timed back to back to measure a generator's ceiling."""
CEILING_USE = 0.8
"""A rate is accepted up to this share of the measured ceiling."""


@dataclass
class GeneratorReport:
    sent: int = 0
    lags: list[float] = field(default_factory=list)
    send_s: float = 0.0
    """Time spent inside ``send``: what one send costs this target."""
    stopped: bool = False
    """It was told to stop before its schedule ended."""

    def summary(self, latency_p99: float | None) -> dict:
        """Lag percentiles; ``behind`` when its p99 is above LAG_LIMIT_S and LAG_SHARE of ``latency_p99``."""
        lags = sorted(self.lags)
        per_send = self.send_s / self.sent if self.sent else None
        out = {"limit": LAG_LIMIT_S, "share_limit": LAG_SHARE, "send_s": per_send}
        out["ceiling"] = 1 / per_send if per_send else None
        if not lags:
            return {**out, "p50": None, "p99": None, "max": None, "behind": False}
        p99 = lags[min(len(lags) - 1, int(0.99 * len(lags)))]
        behind = p99 > LAG_LIMIT_S and (latency_p99 is None or p99 > LAG_SHARE * latency_p99)
        return {**out, "p50": lags[len(lags) // 2], "p99": p99, "max": lags[-1], "behind": behind}


class OpenLoop:
    """Send task ``i`` at ``start + offsets[i]`` (monotonic clock) with its intended wall time."""

    def __init__(
        self,
        offsets: list[float],
        send: Callable[[int, float], None],
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        stopped: Callable[[], bool] = lambda: False,
    ):
        self.offsets, self.send = offsets, send
        self.clock, self.sleep, self.stopped = clock, sleep, stopped

    def run(self, start: float, wall_start: float) -> GeneratorReport:
        """``start``: the step's start on ``clock``; ``wall_start``: the same instant in ``time.time()``."""
        report = GeneratorReport()
        for index, offset in enumerate(self.offsets):
            if self.stopped():
                report.stopped = True
                break
            due = start + offset
            wait = due - self.clock()
            if wait > 0:
                self.sleep(wait)
            now = self.clock()
            report.lags.append(max(0.0, now - due))
            self.send(index, wall_start + offset)
            report.send_s += self.clock() - now
            report.sent += 1
        return report


def ceiling(send: Callable[[int, float], None], count: int = CEILING_SENDS, clock=time.perf_counter) -> float:
    """Sends per second when every task is due at once: the most this generator can offer."""
    began = clock()
    for index in range(count):
        send(index, 0.0)
    elapsed = clock() - began
    return count / elapsed if elapsed > 0 else float("inf")


def own_ceiling(count: int = CEILING_SENDS) -> float:
    """The generator with the local pools' send (a message over a Unix socket, drained by a
    thread), all due at once: the most it can offer on this machine now."""
    import threading
    from multiprocessing import Pipe

    reader, writer = Pipe(duplex=False)

    def drain() -> None:
        for _ in range(count):
            reader.recv()

    thread = threading.Thread(target=drain, daemon=True)
    thread.start()
    try:
        rate = ceiling(lambda index, intended: writer.send(("task", index, intended)), count)
        thread.join(timeout=10)
    finally:
        writer.close()
        reader.close()
    return rate
