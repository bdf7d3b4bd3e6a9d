"""Build the ``load`` document (its kind, schema and history: :mod:`producer.report.load_document`)."""

from __future__ import annotations

import datetime

from producer.report.load_document import HISTORY, KIND, SCHEMA, check
from producer.services.redis import mask_url
from producer.traffic import capacity, histogram
from producer.traffic.figures import GROWTH_RATIO, SUSTAINED_SHARE
from producer.version import __version__


def build(load, work, size: int, base: dict, ceiling: float, machine: dict, results, began, stack) -> dict:
    """``stack``: what the families said of their services (None: no broker row)."""
    settings = load.base
    broker = None
    if stack is not None:
        broker = "embedded" if stack.get("embedded") else mask_url(settings.broker_url or "")
    return {
        "kind": KIND,
        "schema": SCHEMA,
        "schema_history": {str(k): v for k, v in HISTORY.items()},
        "poolbench": __version__,
        "created": datetime.datetime.fromtimestamp(began, datetime.timezone.utc).isoformat(
            timespec="seconds"
        ),
        "settings": {
            "workload": work.spec,
            "kind": work.kind,
            "size": size,
            "concurrency": settings.concurrency,
            "backends": list(settings.backends),
            "rates": list(load.rates) if load.rates else "auto",
            "repeat": load.repeat,
            "duration": load.duration,
            "auto_min_tasks": 100,
            "arrivals": load.arrivals,
            "seed": load.seed,
            "broker": broker,
            "workers": dict(settings.workers),
        },
        "rules": {
            "sustained": f"achieved >= {SUSTAINED_SHARE:.0%} of the rate sent, and p99 of the step's "
            f"second half <= {GROWTH_RATIO:g} x its first half's + 5 ms + 2 run times, or the halves' "
            "p99 95% intervals meet",
            "capacity": "the highest rate sustained, as sent; with --repeat, the median of each "
            "repetition's, low/high their extremes; else low/high the bracket its steps left",
            "latency": "result time minus intended send time (open loop)",
        },
        "histogram": histogram.PRECISION,
        "machine": machine,
        "stack": stack,
        "generator": {"ceiling": ceiling, "lag_limit_s": capacity_limit()},
        "baseline": base,
        "results": results,
        "verdict": capacity.verdict(results),
    }


def capacity_limit() -> float:
    from producer.traffic.generator import LAG_LIMIT_S

    return LAG_LIMIT_S


__all__ = ["build", "check", "KIND", "SCHEMA"]
