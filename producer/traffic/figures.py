"""A step's figures from its timed records: pure logic, no clock, no backend.

Every time here is a wall-clock second (``time.time()``), because records are stamped
in other processes: ``intended`` (the schedule), ``started``/``ended`` (where the task
ran) and ``result_at`` (when the producer had its result).
"""

from __future__ import annotations

import itertools
import statistics
from dataclasses import dataclass

from producer.traffic import histogram
from producer.traffic.capacity import quantile_interval

SUSTAINED_SHARE = 0.95
"""A step is sustained when achieved >= this share of offered ..."""
GROWTH_RATIO = 1.5
"""... and p99 of the step's second half is not above this times its first half's ..."""
GROWTH_FLOOR_S = 0.005
"""... plus this, and plus two median run times (so that jitter on tiny tasks is not growth),
and the halves' p99 95% intervals do not meet (so that a few calls held up by other programs
are not growth: on a busy machine a half-step's p99 is its one or two slowest answers)."""
TIMELINE_POINTS = 60


@dataclass(frozen=True)
class Arrival:
    index: int
    intended: float
    record: dict | None
    """None: no result by the end of the drain."""
    result_at: float | None


def verify(sent: int, collected: list[tuple[int, dict, float]], abandoned: set[int], expected) -> dict:
    """Each index once, each summary the baseline's; what was purged unrun is not lost."""
    seen: dict[int, tuple[dict, float]] = {}
    doubled = wrong = 0
    problems: list[str] = []
    for index, record, result_at in collected:
        if index in seen or not isinstance(index, int) or not 0 <= index < sent:
            doubled += index in seen
            continue
        seen[index] = (record, result_at)
        if record.get("error"):
            wrong += 1
            if len(problems) < 3:
                error = record["error"]
                problems.append(f"task {index} raised {error.get('type')}: {error.get('message')}")
        elif record.get("summary") != expected:
            wrong += 1
            if len(problems) < 3:
                problems.append(f"task {index}: {record.get('summary')} != baseline {expected}")
    unrun = set(abandoned) - set(seen)
    lost = sent - len(seen) - len(unrun)
    if doubled:
        problems.append(f"{doubled} results came twice; counted once")
    if lost:
        problems.append(f"{lost} of {sent} tasks neither returned nor were purged: lost")
    return {
        "checked": len(seen),
        "wrong": wrong,
        "doubled": doubled,
        "lost": lost,
        "abandoned": len(unrun),
        "ok": not (wrong or doubled or lost),
        "problems": problems,
        "_seen": seen,
    }


def arrivals(intended: list[float], seen: dict[int, tuple[dict, float]]) -> list[Arrival]:
    out = []
    for index, at in enumerate(intended):
        record, result_at = seen.get(index, (None, None))
        out.append(Arrival(index, at, record, result_at))
    return out


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def figures(items: list[Arrival], wall_start: float, duration: float, offered: float) -> dict:
    """Achieved rate, latency percentiles, queue wait and run time, outstanding, growth.

    ``achieved`` counts the answers that came by the step's end plus ``settle``, the first
    half's median latency: the tasks sent in a steady step's last moments are still on
    their way when it ends (about rate x latency of them, Little's law), and counting only
    up to the end called a short steady step of slow calls saturated. A pool past its
    capacity still answers at its capacity in the shifted window, so it stays below."""
    end = wall_start + duration
    done = [a for a in items if a.result_at is not None]
    values = [a.result_at - a.intended for a in done]
    latencies = histogram.of(values)
    waits = [a.record["started"] - a.intended for a in done if "started" in a.record]
    runs = [a.record["ended"] - a.record["started"] for a in done if "ended" in a.record]
    half = wall_start + duration / 2
    first_values = [a.result_at - a.intended for a in done if a.intended < half]
    second_values = [a.result_at - a.intended for a in done if a.intended >= half]
    first, second = histogram.of(first_values), histogram.of(second_values)
    run_median = _median(runs) or 0.0
    p99_first, p99_second = first.percentile(99), second.percentile(99)
    bands = [quantile_interval(first_values, 0.99), quantile_interval(second_values, 0.99)]
    growing = bool(
        p99_first is not None
        and p99_second is not None
        and p99_second > GROWTH_RATIO * p99_first + GROWTH_FLOOR_S + 2 * run_median
        and _apart(*bands)
    )
    outstanding = sum(1 for a in items if a.result_at is None or a.result_at > end)
    settle = _median(first_values) or 0.0
    answered = sum(1 for a in done if a.result_at <= end + settle)
    achieved = answered / duration
    return {
        "offered": offered,
        "sent_rate": len(items) / duration,
        "achieved": achieved,
        "settle": settle,
        "latency": {
            **{k: v for k, v in latencies.summary().items() if k != "count"},
            "p99_interval": _around(quantile_interval(values, 0.99), latencies.percentile(99)),
        },
        "p99_halves": [p99_first, p99_second],
        "p99_halves_intervals": bands,
        "growing": growing,
        "queue_wait": {"p50": _median(waits), "p99": histogram.of(waits).percentile(99)},
        "run_time": {"p50": run_median or None, "p99": histogram.of(runs).percentile(99)},
        "outstanding": outstanding,
        "turnaround": turnaround(done),
        "sustained": achieved >= SUSTAINED_SHARE * (len(items) / duration) and not growing,
        "timeline": timeline(items, wall_start, duration),
    }


def turnaround(done: list[Arrival]) -> dict | None:
    """How long a slot stood idle between two calls while the next was already due: from one
    call's end to the next's start on the same slot (host, process, thread), counted only
    where the next task's intended send came before that end. It is what each task costs a
    slot beyond its call (the pool's dispatch, and for a broker its ack and fetch). The mean
    is what a capacity model needs (a slot's tasks per second are 1/(call + mean gap))."""
    slots: dict[tuple, list[Arrival]] = {}
    for a in done:
        r = a.record
        if r and "started" in r and "ended" in r:
            slots.setdefault((r.get("host"), r.get("pid"), r.get("tid"), r.get("interpreter")), []).append(a)
    gaps = []
    for calls in slots.values():
        calls.sort(key=lambda a: a.record["started"])
        for before, after in itertools.pairwise(calls):
            if after.intended <= before.record["ended"]:
                gaps.append(max(0.0, after.record["started"] - before.record["ended"]))
    if not gaps:
        return None
    return {
        "mean": statistics.fmean(gaps),
        "p50": statistics.median(gaps),
        "p90": histogram.of(gaps).percentile(90),
        "count": len(gaps),
    }


def _apart(first: list[float] | None, second: list[float] | None) -> bool:
    """The second half's p99 interval lies wholly above the first's: its p99 grew beyond what
    two or three late answers make of a half-step's p99. Too few answers for an interval: True
    (the ratio alone decides)."""
    if first is None or second is None:
        return True
    return second[0] > first[1]


def _around(interval: list[float] | None, point: float | None) -> list[float] | None:
    """The interval widened to hold the histogram's p99 (which reads up to 0.1% high)."""
    if interval is None or point is None:
        return interval
    return [min(interval[0], point), max(interval[1], point)]


def timeline(items: list[Arrival], wall_start: float, duration: float) -> dict:
    """Tasks sent and not yet answered (``outstanding``) and, of those, running, over the step."""
    times, outstanding, running = [], [], []
    for point in range(TIMELINE_POINTS + 1):
        t = wall_start + duration * point / TIMELINE_POINTS
        sent = [a for a in items if a.intended <= t]
        open_ = [a for a in sent if a.result_at is None or a.result_at > t]
        busy = [
            a
            for a in open_
            if a.record and a.record.get("started", t + 1) <= t < a.record.get("ended", t - 1)
        ]
        times.append(round(t - wall_start, 4))
        outstanding.append(len(open_))
        running.append(len(busy))
    return {"t": times, "outstanding": outstanding, "running": running}
