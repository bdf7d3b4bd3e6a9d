"""``sweep``: speedup and efficiency against concurrency, or against embedded workers.

Every point of the sweep is a row of one run: the baseline once, then each backend at each
concurrency (and, for a distributed family, each number of embedded worker processes: the
local picture of ``docker compose --scale``). All rows run in the same interleaved rounds as
``compare``, so drift hits every point alike, and the document is the same result document
with a ``sweep`` section that says where scaling stops. Each distributed point gets workers of
its own, sized for that point; each row carries its concurrency and workers (:mod:`producer.plan`).
"""

from __future__ import annotations

from producer import backends
from producer import plan as planning
from producer.measure.ideal import ideal_of
from producer.plan import Plan
from producer.report.document import Document
from producer.settings import Settings


def plan(settings: Settings, concurrencies: list[int], worker_counts: list[int], found=None) -> Plan:
    """The sweep's rows (:func:`producer.plan.sweep`); :func:`producer.session.run_plan` runs them."""
    return planning.sweep(settings, concurrencies, worker_counts, found)


def level(doc: Document, plan: Plan) -> int:
    """The concurrency nearest the usable CPUs: the points the verdict reads."""
    cpus = doc["machine"].get("cpus_usable") or 1
    levels = sorted({row.concurrency for row in plan.rows if row.backend != backends.BASELINE}) or [1]
    return min(levels, key=lambda c: (abs(c - cpus), c))


def at(pairs: list, level: int) -> list:
    """A group's baseline, and its points at concurrency ``level`` with the fewest workers."""
    fewest = min((row.workers for _, row in pairs if row.workers), default=None)
    return pairs[:1] + [
        (r, row) for r, row in pairs[1:] if row.concurrency == level and row.workers in (None, fewest)
    ]


def say_level(verdict: dict, doc: Document, level: int) -> dict:
    cpus = doc["machine"].get("cpus_usable") or 1
    verdict["notes"].insert(
        0, f"The verdict reads the points at concurrency {level}, nearest the {cpus} usable CPUs."
    )
    return verdict


def summarize(doc: Document, plan: Plan) -> dict:
    """Each backend's points in order, and where its scaling stops."""
    cpus = doc["machine"].get("cpus_usable") or 1
    series: dict[str, list[dict]] = {}
    for row, result in zip(plan.rows, doc["results"], strict=True):
        if result.get("baseline"):
            continue
        c = result.get("comparison") or {}
        series.setdefault(f"{row.backend} [{row.group}]" if row.group else row.backend, []).append(
            {
                "label": row.label,
                "concurrency": row.concurrency,
                "workers": row.workers,
                "ideal": ideal_of(result, cpus),  # the document's own ideal (measure.ideal)
                "speedup": c.get("mid"),
                "low": c.get("low"),
                "high": c.get("high"),
                "efficiency": (result.get("efficiency") or {}).get("value"),
            }
        )
    worker_counts = list(plan.sweep.worker_counts) if plan.sweep else []
    return {
        "axis": "workers" if len(worker_counts) > 1 else "concurrency",
        "concurrency": list(plan.sweep.concurrencies) if plan.sweep else [],
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
