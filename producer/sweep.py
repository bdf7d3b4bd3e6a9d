"""``sweep``: speedup and efficiency against concurrency, or against embedded Celery workers.

Every point of the sweep is a row of one run: the baseline once, then each backend at each
concurrency (and, for Celery, each number of embedded worker processes: the local picture
of ``docker compose --scale``). All rows run in the same interleaved rounds as ``compare``,
so drift hits every point alike, and the document is the same result document with a
``sweep`` section that says where scaling stops. Each Celery point gets workers of its own
on a queue of its own, sized for that point.
"""

from __future__ import annotations

from producer import backends, session
from producer.backends.celery.workers import WorkerPlan
from producer.errors import UsageError
from producer.measure.rounds import Progress, Variant, run_rounds
from producer.report.document import Document
from producer.report.verdict import judge
from producer.settings import Settings


def _label(name: str, concurrency: int, workers: int | None) -> str:
    return f"{name} c={concurrency}" + (f" w={workers}" if workers else "")


def plan(
    settings: Settings, concurrencies: list[int], worker_counts: list[int]
) -> tuple[list[Variant], list[WorkerPlan]]:
    """The sweep's rows, the baseline first, and the embedded workers their Celery rows need."""
    variants = [Variant(backends.BASELINE, backends.BASELINE, settings)]
    plans = []
    for name in settings.backends[1:]:
        entry = backends.spec(name)
        for concurrency in concurrencies:
            at = settings.replace(concurrency=concurrency)
            if not entry.needs_broker:
                variants.append(Variant(_label(name, concurrency, None), name, at))
                continue
            for count in worker_counts:
                queue = f"{entry.pool}-c{concurrency}-w{count}"
                plans.append(WorkerPlan(entry.pool, queue, count, concurrency))
                variants.append(Variant(_label(name, concurrency, count), name, at, {"queue": queue}))
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
    prepared = session.prepare(settings, status)
    _, plans = plan(settings, concurrencies, worker_counts)
    with session.broker(settings, prepared, status, plans=plans) as (measured_with, stack):
        variants, _ = plan(measured_with, concurrencies, worker_counts)  # now with the broker's URL
        runs = run_rounds(measured_with, prepared.workload.spec, prepared.size, progress, variants)
    doc = session.document(runs, measured_with, prepared, stack)
    doc["sweep"] = summarize(doc, variants, concurrencies, worker_counts)
    doc["verdict"] = judge_at_the_cpus(doc, variants)
    return doc


def judge_at_the_cpus(doc: Document, variants: list[Variant]) -> dict:
    """The compare verdict, read from the points at the concurrency nearest the usable CPUs."""
    cpus = doc["machine"].get("cpus_usable") or 1
    levels = sorted({v.settings.concurrency for v in variants[1:]}) or [1]
    at = min(levels, key=lambda c: (abs(c - cpus), c))
    rows = [doc["results"][0]]
    for variant, result in zip(variants[1:], doc["results"][1:], strict=True):
        first_count = not variant.params or variant.params["queue"].endswith(f"-w{_counts(variants)[0]}")
        if variant.settings.concurrency == at and first_count:
            rows.append({**result, "backend": variant.backend})
    verdict = judge({**doc, "results": rows})
    verdict["notes"].insert(
        0, f"The verdict reads the points at concurrency {at}, nearest the {cpus} usable CPUs."
    )
    return verdict


def _counts(variants: list[Variant]) -> list[int]:
    counts = sorted({int(v.params["queue"].rsplit("-w", 1)[1]) for v in variants if v.params})
    return counts or [1]


def summarize(
    doc: Document, variants: list[Variant], concurrencies: list[int], worker_counts: list[int]
) -> dict:
    """Each backend's points in order, and where its scaling stops."""
    cpus = doc["machine"].get("cpus_usable") or 1
    tasks = doc["settings"]["tasks"]
    series: dict[str, list[dict]] = {}
    for variant, result in zip(variants[1:], doc["results"][1:], strict=True):
        c = result.get("comparison") or {}
        workers = variant.params and int(variant.params["queue"].rsplit("-w", 1)[1])
        series.setdefault(variant.backend, []).append(
            {
                "label": variant.label,
                "concurrency": variant.settings.concurrency,
                "workers": workers or None,
                "ideal": min(variant.settings.concurrency * (workers or 1), tasks, cpus),
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
