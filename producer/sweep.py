"""``sweep``: speedup and efficiency against concurrency, or against embedded Celery workers.

Every point of the sweep is a row of one run: the baseline once, then each backend at each
concurrency (and, for Celery, each number of embedded worker processes: the local picture
of ``docker compose --scale``). All rows run in the same interleaved rounds as ``compare``,
so drift hits every point alike, and the document is the same result document with a
``sweep`` section that says where scaling stops. Each Celery point gets workers of its own
on a queue of its own, sized for that point.
"""

from __future__ import annotations

import dataclasses
import re

from producer import backends, pythons, session
from producer.backends.celery.workers import WorkerPlan
from producer.errors import UsageError
from producer.measure.ideal import ideal_of
from producer.measure.rounds import Progress, Variant, run_rounds
from producer.report.document import Document
from producer.report.verdict import judge
from producer.settings import Settings


def _label(name: str, concurrency: int, workers: int | None, group: str = "") -> str:
    return f"{name} c={concurrency}" + (f" w={workers}" if workers else "") + (f" [{group}]" if group else "")


def _workers(variant: Variant) -> int | None:
    found = re.search(r"-w(\d+)", variant.params.get("queue", ""))
    return int(found.group(1)) if found else None


def _series(variant: Variant) -> str:
    return f"{variant.backend} [{variant.group}]" if variant.group else variant.backend


def plan(
    settings: Settings, concurrencies: list[int], worker_counts: list[int], found: list | None = None
) -> tuple[list[Variant], list[WorkerPlan]]:
    """The sweep's rows, each interpreter's baseline first, and the embedded workers their Celery rows
    need (``found``: the run's interpreters, :func:`producer.pythons.groups`)."""
    variants, plans = [], []
    for group in found or pythons.groups(settings):
        tag = f" [{group.label}]" if group.label else ""
        baseline = backends.spec(backends.BASELINE)
        params = pythons.local_params(baseline, group)
        variants.append(Variant(backends.BASELINE + tag, backends.BASELINE, settings, params, group.label))
        for name in settings.backends[1:]:
            entry = backends.spec(name)
            if pythons.not_here(entry, group, settings):
                continue
            for concurrency in concurrencies:
                at = settings.replace(concurrency=concurrency)
                params = pythons.local_params(entry, group)
                if not entry.needs_broker:
                    label = _label(name, concurrency, None, group.label)
                    variants.append(Variant(label, name, at, params, group.label))
                    continue
                for count in worker_counts:
                    queue = f"{entry.pool}-c{concurrency}-w{count}{pythons.queue_suffix(group)}"
                    plans.append(WorkerPlan(entry.pool, queue, count, concurrency, group.interpreter))
                    label = _label(name, concurrency, count, group.label)
                    variants.append(Variant(label, name, at, {"queue": queue}, group.label))
    return variants, plans


def run(
    settings: Settings,
    concurrencies: list[int],
    worker_counts: list[int],
    progress: Progress | None = None,
    status: session.Status | None = None,
) -> Document:
    if settings.broker_url and any(backends.spec(n).needs_broker for n in settings.backends):
        raise UsageError(
            "sweep starts Celery workers of its own for every point; run it without --broker and REDIS_URL"
        )
    groups = pythons.groups(settings)
    pythons.check(settings, groups)
    prepared = session.prepare(settings, status)
    variants, plans = plan(settings, concurrencies, worker_counts, groups)
    with session.broker(settings, prepared, status, plans=plans) as (measured_with, stack):
        url = measured_with.broker_url
        variants = [dataclasses.replace(v, settings=v.settings.replace(broker_url=url)) for v in variants]
        runs = run_rounds(measured_with, prepared.workload.spec, prepared.size, progress, variants)
    doc = session.document(runs, measured_with, prepared, stack)
    doc["sweep"] = summarize(doc, variants, concurrencies, worker_counts)
    at = _level(doc, variants)
    if len(groups) > 1:
        doc["pythons"] = pythons.summarize(doc, groups, variants, {}, judged=lambda rows: _at(rows, at))
        for group in doc["pythons"]:
            _say_level(group["verdict"], doc, at)
        doc["verdict"] = doc["pythons"][0]["verdict"]
    else:
        rows = _at(list(zip(doc["results"], variants, strict=True)), at)
        doc["verdict"] = _say_level(
            judge({**doc, "results": [{**r, "backend": v.backend} for r, v in rows]}), doc, at
        )
    return doc


def _level(doc: Document, variants: list[Variant]) -> int:
    """The concurrency nearest the usable CPUs: the points the verdict reads."""
    cpus = doc["machine"].get("cpus_usable") or 1
    levels = sorted({v.settings.concurrency for v in variants if v.backend != backends.BASELINE}) or [1]
    return min(levels, key=lambda c: (abs(c - cpus), c))


def _at(rows: list, at: int) -> list:
    """A group's baseline, and its points at concurrency ``at`` with the fewest workers."""
    fewest = min((_workers(v) for _, v in rows if _workers(v)), default=None)
    return rows[:1] + [
        (r, v) for r, v in rows[1:] if v.settings.concurrency == at and _workers(v) in (None, fewest)
    ]


def _say_level(verdict: dict, doc: Document, at: int) -> dict:
    cpus = doc["machine"].get("cpus_usable") or 1
    verdict["notes"].insert(
        0, f"The verdict reads the points at concurrency {at}, nearest the {cpus} usable CPUs."
    )
    return verdict


def summarize(
    doc: Document, variants: list[Variant], concurrencies: list[int], worker_counts: list[int]
) -> dict:
    """Each backend's points in order, and where its scaling stops."""
    cpus = doc["machine"].get("cpus_usable") or 1
    series: dict[str, list[dict]] = {}
    for variant, result in zip(variants, doc["results"], strict=True):
        if result.get("baseline"):
            continue
        c = result.get("comparison") or {}
        workers = _workers(variant)
        series.setdefault(_series(variant), []).append(
            {
                "label": variant.label,
                "concurrency": variant.settings.concurrency,
                "workers": workers or None,
                "ideal": ideal_of(result, cpus),  # the document's own ideal (measure.ideal)
                "speedup": c.get("mid"),
                "low": c.get("low"),
                "high": c.get("high"),
                "efficiency": (result.get("efficiency") or {}).get("value"),
            }
        )
    return {
        "axis": "workers" if len(worker_counts) > 1 else "concurrency",
        "concurrency": concurrencies,
        "workers": worker_counts,
        "series": series,
        "stops": {name: where_scaling_stops(points) for name, points in series.items()},
    }


def where_scaling_stops(points: list[dict]) -> dict:
    """The last point that was clearly faster than the one before it (intervals separated)."""
    measured = [p for p in points if p["speedup"] is not None]
    if not measured:
        return {"at": None, "speedup": None, "reason": "no point was measured well enough to say"}
    best = measured[0]
    for point in measured[1:]:
        if point["low"] is not None and best["high"] is not None and point["low"] > best["high"]:
            best = point
    later = measured[measured.index(best) + 1 :]
    shown = ", ".join(f"{p['label']}: {p['speedup']:.2f}x" for p in later)
    reason = f"no clear gain beyond it ({shown})" if later else "it is the last point measured"
    return {"at": best["label"], "speedup": best["speedup"], "reason": reason}
