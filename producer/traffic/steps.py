"""One step: one arrival rate through one target for ``duration`` seconds.

A *target* is what the generator feeds: the local pools' child (:mod:`.local`) or a
Celery pool (:mod:`producer.backends.celery.traffic`). Its contract:

- ``begin()`` before a step, then ``prepare(count)`` if it has one (work done before the
  clock starts); ``send(index, intended)`` must not wait for the task;
- ``done_count()`` results collected so far; ``collected()`` every ``(index, record,
  result_at)`` (duplicates included, for the check);
- ``abandon()`` removes what is still queued and returns those indices: after it, and
  the drain that follows, nothing of the step runs or waits anywhere.

After the step's last intended send, the step waits until its end, counts what is
outstanding, lets the backlog drain for a bounded time, then abandons the rest.
"""

from __future__ import annotations

import time

from producer.measure import host
from producer.traffic import arrivals, figures
from producer.traffic.cpu import StepCpu
from producer.traffic.generator import OpenLoop

LEAD_S = 0.05
"""The first send is scheduled this long after the step is set up."""
DRAIN_S = 2.0
"""After a step ends, its backlog may run this long (plus two run times) before it is purged."""
SETTLE_S = 10.0
"""After the purge, tasks already running are waited for at most this long."""
POLL_S = 0.02


def run_step(target, rate: float, duration: float, kind: str, seed: int, expected, stopped=lambda: False):
    offsets = arrivals.schedule(rate, duration, kind, seed)
    target.begin()
    if hasattr(target, "prepare"):
        target.prepare(len(offsets))
    start = time.monotonic() + LEAD_S
    wall_start = time.time() + LEAD_S
    intended = [wall_start + off for off in offsets]
    spent = StepCpu()
    report = OpenLoop(offsets, target.send, stopped=stopped).run(start, wall_start)
    _sleep_until(start + duration, stopped)
    drain_until = time.monotonic() + DRAIN_S + 2 * getattr(target, "run_s", 0.0)
    while target.done_count() < report.sent and time.monotonic() < drain_until and not stopped():
        time.sleep(POLL_S)
    abandoned = target.abandon()
    settle_until = time.monotonic() + SETTLE_S
    while _unanswered(target, report.sent, abandoned) and time.monotonic() < settle_until:
        time.sleep(POLL_S)
    collected = target.collected()
    used = spent.finish([record for _index, record, _at in collected])
    checked = figures.verify(report.sent, collected, abandoned, expected)
    if hasattr(target, "forget"):
        target.forget()
    items = figures.arrivals(intended[: report.sent], checked.pop("_seen"))
    step = figures.figures(items, wall_start, duration, rate)
    step.update(
        seed=seed,
        duration=duration,
        sent=report.sent,
        generator_lag=report.summary(step["latency"]["p99"]),
        verified=checked,
        interrupted=report.stopped,
        loadavg=host.loadavg(),
        cpu=used,
    )
    if step["generator_lag"]["behind"]:
        lag = step["generator_lag"]
        step["refused"] = (
            f"the generator fell behind (p99 lag {lag['p99'] * 1000:.1f} ms, over "
            f"{lag['limit'] * 1000:.0f} ms and {lag['share_limit']:.0%} of p99): step not counted"
        )
        step["sustained"] = False
    return step


def _unanswered(target, sent: int, abandoned: set[int]) -> int:
    """Tasks sent, not purged, and not answered yet: they may still be running."""
    answered = {index for index, _record, _at in target.collected()}
    return sent - len(answered | abandoned)


def _sleep_until(deadline: float, stopped) -> None:
    while not stopped():
        left = deadline - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(left, 0.1))


def step_seed(seed: int, backend_index: int, step_index: int) -> int:
    return arrivals.step_seed(seed, backend_index, step_index)
