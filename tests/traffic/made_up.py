"""Made-up step records and results for the traffic tests: no clock, no services."""

from __future__ import annotations

from producer.traffic import figures


def _record(summary="ok", started=0.0, ended=0.0, error=None):
    record = {"summary": summary, "started": started, "ended": ended}
    if error:
        record["error"] = error
    return record


def _items(n, gap, latency_of, run=0.01):
    items = []
    for i in range(n):
        intended = 1000.0 + i * gap
        latency = latency_of(i)
        record = _record(started=intended + latency - run, ended=intended + latency)
        items.append(figures.Arrival(i, intended, record, intended + latency))
    return items


def _result(name, model, via, p99, interval, shares_gil=False, cap=None):
    step = {
        "offered": 50,
        "achieved": 50,
        "sustained": True,
        "latency": {"p99": p99, "p99_interval": interval},
    }
    return {
        "name": name,
        "model": model,
        "via": via,
        "shares_gil": shares_gil,
        "steps": [step],
        "capacity": cap or {"value": 50, "low": 50, "high": None, "saturated": False},
    }
