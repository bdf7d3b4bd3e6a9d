"""``sweep --link-rtt 0,1,4,20ms``: every Celery backend against the broker's round trip.

One embedded ``--hosts`` stack per round trip (Redis and each pool's workers in
namespaces of their own, every path to Redis through the relay at that round trip),
all started before the first batch; then every row runs in the same interleaved
rounds, so drift hits every point alike: the local backends once, each Celery backend
at each round trip, and with ``--chunks N`` each also with one call per message. The
document is the usual result document with a ``link_sweep`` section: per series, each
point's asked and measured round trip, its median batch time (the makespan) and its
throughput. The verdict reads the points at the first round trip only: the pick of a
pool is never changed on the round trip alone; the notes say below which task length a
pool is broker-bound at each measured round trip (:func:`producer.report.network.rtt_notes`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import statistics

import workloads
from producer import backends, session
from producer import plan as planning
from producer.errors import UsageError
from producer.measure.rounds import Progress, run_rounds
from producer.plan import Row
from producer.report import network, verdict
from producer.report.document import Document, finding
from producer.services.relay import LinkShape, parse_duration
from producer.settings import Settings
from producer.stack import EmbeddedStack

MOST_POINTS = 8


def parse_rtts(text: str) -> list[float]:
    """``0,1,4,20ms`` (bare numbers are milliseconds) -> seconds, in order, without repeats."""
    try:
        values = [parse_duration(part) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise UsageError(f"--link-rtt: {exc}") from None
    values = sorted(set(values))
    if not values or len(values) > MOST_POINTS or values[-1] > 1.0:
        raise UsageError(f"--link-rtt takes 1 to {MOST_POINTS} round trips of at most 1 s, e.g. 0,1,4,20ms")
    return values


def check(names: list[str], concurrencies: list[int], workers: str) -> None:
    """UsageError unless the sweep can move the broker away: one concurrency, no --workers
    list, and a backend that reaches its workers through a broker."""
    if len(concurrencies) != 1 or workers not in ("", "1"):
        raise UsageError(
            "sweep --link-rtt sweeps the round trip: give one --concurrency, and no --workers list"
        )
    if not any(_brokered(name) for name in names):
        raise UsageError("sweep --link-rtt moves the broker away: add a celery-* backend to --backends")


def _label(name: str, rtt_s: float, chunks: int) -> str:
    return f"{name} @{rtt_s * 1e3:g}ms" + (f" chunks {chunks}" if chunks > 1 else "")


def _brokered(name: str) -> bool:
    return backends.spec(name).via == backends.VIA_BROKER


def run(
    settings: Settings,
    rtts: list[float],
    progress: Progress | None = None,
    status: session.Status | None = None,
) -> Document:
    prepared = session.prepare(settings, status)
    spec = prepared.workload.spec
    allow = [] if workloads.is_builtin(spec) else [spec]
    compared = planning.compare(settings.replace(hosts=False, link=None)).rows
    local = [row for row in compared if not _brokered(row.backend)]
    brokered = [row for row in compared if _brokered(row.backend)]
    pools = list(dict.fromkeys(row.spec.pool for row in brokered))
    rows: list[Row] = list(local)
    points: list[tuple[Row, float, int]] = []
    links, startup_s = [], 0.0
    with contextlib.ExitStack() as stacks:
        for rtt in rtts:
            at = settings.replace(hosts=True, link=LinkShape(rtt, 0.0))
            if status:
                status(f"starting Redis and {', '.join(pools)} workers behind a {rtt * 1e3:g} ms link...")
            stack = stacks.enter_context(EmbeddedStack(at, pools, allow=allow))
            links.append(stack.describe()["network"])
            startup_s += stack.startup_s or 0.0
            reached = at.replace(broker_url=stack.broker_url)
            for row in brokered:
                for chunks in dict.fromkeys([1, settings.chunks]):
                    label = _label(row.backend, rtt, chunks)
                    point = dataclasses.replace(row, label=label, settings=reached.replace(chunks=chunks))
                    rows.append(point)
                    points.append((point, rtt, chunks))
        runs = run_rounds(settings, spec, prepared.size, progress, rows, backends.build)
    swept_links = {"method": "relay", "sweep": links, "range": ", ".join(link["range"] for link in links)}
    stack_record = {"embedded": True, "startup_s": startup_s, "network": swept_links}
    doc = session.document(runs, settings, prepared, stack_record)
    doc["link_sweep"] = summarize(doc, points)
    first = [
        {**result, "backend": row.backend}
        for result, row in zip(doc["results"], rows, strict=True)
        if row in local or _at_first(row, points)
    ]
    doc["verdict"] = verdict.judge({**doc, "results": first})
    doc["verdict"]["notes"].insert(0, finding("link-sweep-first-rtt", "info", rtt_ms=rtts[0] * 1e3))
    doc["verdict"]["notes"] += network.rtt_notes(doc)
    return doc


def _at_first(row: Row, points: list[tuple[Row, float, int]]) -> bool:
    first = min(rtt for _, rtt, _ in points)
    return any(p is row and rtt == first and chunks == 1 for p, rtt, chunks in points)


def summarize(doc: Document, points: list[tuple[Row, float, int]]) -> dict:
    """Per series (backend, and chunks), each point: round trip asked and measured, makespan
    (median batch, with its IQR), throughput (tasks over the median batch, with the range
    of the rounds: tasks over the slowest and over the fastest batch)."""
    tasks = doc["settings"]["tasks"]
    by_label = {result["backend"]: result for result in doc["results"]}
    series: dict[str, list[dict]] = {}
    for point, rtt, chunks in points:
        result = by_label.get(point.label) or {}
        walls = (result.get("wall_s") or {}).get("values") or []
        makespan = statistics.median(walls) if walls else None
        name = point.backend + (f" chunks {chunks}" if chunks > 1 else "")
        series.setdefault(name, []).append(
            {
                "label": point.label,
                "rtt_asked_ms": rtt * 1e3,
                "rtt_measured_ms": network.worker_rtt_ms(result),
                "makespan_s": makespan,
                "makespan_iqr_s": (result.get("wall_s") or {}).get("iqr"),
                "throughput": tasks / makespan if makespan else None,
                "throughput_low": tasks / max(walls) if walls else None,
                "throughput_high": tasks / min(walls) if walls and min(walls) > 0 else None,
                "ok": result.get("ok"),
            }
        )
    return {"rtts_ms": sorted({p[1] * 1e3 for p in points}), "tasks": tasks, "series": series}
