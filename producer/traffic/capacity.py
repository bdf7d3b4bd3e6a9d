"""Capacity and the traffic verdict, as data: pure logic over the steps' figures.

A step is *sustained* when its achieved rate is at least 95% of what was sent and its
p99 did not grow from the first half of the step to the second (:mod:`.figures`).
A backend's capacity is the highest offered rate it sustained; repeated steps give its
interval (:func:`capacity`). The verdict reads each backend's declared ``model`` and
``via``, never its name.
"""

from __future__ import annotations

import math
import statistics

from producer.report.kinds import word

Z95 = 1.96


def counted(steps: list[dict]) -> list[dict]:
    """Steps that offered their rate: not refused (generator behind), not interrupted."""
    return [s for s in steps if not s.get("refused") and not s.get("interrupted")]


def sent(step: dict) -> float:
    """The rate a step really offered: Poisson arrivals send a few % more or less than asked."""
    return step.get("sent_rate") or step["offered"]


def capacity(steps: list[dict]) -> dict:
    """The highest rate sustained (as sent), and its interval.

    Steps carry ``repetition`` (0 when rates were not repeated). Each repetition gives its
    own highest sustained rate; with two or more, ``low``/``high`` are their extremes and
    ``value`` their median. With one, the interval is the bracket its steps leave: from
    the highest rate sustained to the lowest rate above it that was not.
    """
    steps = counted(steps)
    by_repetition: dict[int, list[dict]] = {}
    for step in steps:
        by_repetition.setdefault(step.get("repetition", 0), []).append(step)
    highest = [
        max((sent(s) for s in group if s["sustained"]), default=None) for group in by_repetition.values()
    ]
    found = sorted(h for h in highest if h is not None)
    saturated = [s for s in steps if not s["sustained"]]
    out = {
        "repetitions": len(by_repetition),
        "saturated": bool(saturated),
        "peak": max((s["achieved"] for s in steps), default=None),
        "rule": "highest rate sustained, as sent",
    }
    if not found:
        return {
            **out,
            "value": None,
            "low": None,
            "high": min((s["offered"] for s in saturated), default=None),
        }
    value = statistics.median(found)
    if len(found) > 1:
        return {**out, "value": value, "low": found[0], "high": found[-1], "interval": "repetitions"}
    above = [sent(s) for s in saturated if sent(s) > value]
    return {**out, "value": value, "low": value, "high": min(above) if above else None, "interval": "bracket"}


def quantile_interval(latencies: list[float], q: float = 0.99) -> list[float] | None:
    """A 95% confidence interval of the q-quantile from the order statistics (binomial)."""
    values = sorted(latencies)
    n = len(values)
    if n < 20:
        return None
    half = Z95 * math.sqrt(n * q * (1 - q))
    low = max(0, math.floor(n * q - half) - 1)
    high = min(n - 1, math.ceil(n * q + half))
    return [values[low], values[high]]


def _best(rows: list[tuple[dict, dict]]) -> dict | None:
    """The lowest p99 among (result, step) pairs; undecided when its interval meets the next's."""
    rows = [(r, s) for r, s in rows if s["latency"].get("p99") is not None]
    if not rows:
        return None
    rows.sort(key=lambda rs: rs[1]["latency"]["p99"])
    (result, step), rest = rows[0], rows[1:]
    out = {
        "backend": result["name"],
        "model": result["model"],
        "p99": step["latency"]["p99"],
        "interval": step["latency"].get("p99_interval"),
        "sustained": step["sustained"],
        "decided": True,
    }
    if rest:
        other_result, other = rest[0]
        mine, theirs = out["interval"], other["latency"].get("p99_interval")
        out["against"] = {"backend": other_result["name"], "model": other_result["model"]}
        out["decided"] = bool(mine and theirs and mine[1] < theirs[0])
    if not out["decided"]:
        out["undecided"] = "the p99 intervals overlap"
    return out


def verdict(results: list[dict]) -> dict:
    """At each offered rate, the lowest p99 among local pools and among broker pools; where each saturates."""
    rates = sorted({s["offered"] for r in results for s in counted(r["steps"])})
    at_rate = []
    for rate in rates:
        entry = {"rate": rate}
        for via in ("local", "broker"):
            rows = [
                (r, s)
                for r in results
                if r["via"] == via
                for s in counted(r["steps"])
                if s["offered"] == rate
            ]
            best = _best(rows)
            if best is not None:
                entry[via] = best
        at_rate.append(entry)
    saturates = [
        {
            "backend": r["name"],
            "model": r["model"],
            "via": r["via"],
            "shares_gil": r["shares_gil"],
            "capacity": r["capacity"],
        }
        for r in results
    ]
    return {"at_rate": at_rate, "saturates": saturates, "gil": _gil(results)}


def _gil(results: list[dict]) -> dict | None:
    """Capacity of models sharing one GIL against the others, where both were measured."""
    shared = [r["capacity"]["value"] for r in results if r["shares_gil"] and r["capacity"]["value"]]
    apart = [r["capacity"]["value"] for r in results if not r["shares_gil"] and r["capacity"]["value"]]
    if not shared or not apart:
        return None
    return {"shares_gil": max(shared), "own_gil": max(apart), "ratio": max(apart) / max(shared)}


def model_capacity(kind: str, concurrency: int, run_s: float, shares_gil: bool, cpus: int) -> dict | None:
    """The capacity a simple model expects: waits overlap (C/t); CPU work overlaps only across GILs."""
    kind = word(kind)  # documents and workloads before the kinds' vocabulary said "cpu", "io"
    if not run_s or run_s <= 0:
        return None
    if kind == "io-bound":
        return {"value": concurrency / run_s, "formula": f"C/t = {concurrency}/{run_s:.4f} s"}
    if kind == "cpu-bound":
        slots = 1 if shares_gil else min(concurrency, cpus)
        formula = "1/t (one GIL)" if shares_gil else f"min(C, CPUs)/t = {slots}/{run_s:.4f} s"
        return {"value": slots / run_s, "formula": formula}
    return None


TURNAROUND_MIN_GAPS = 10
"""A slot's turnaround is read from a saturated step with at least this many gaps."""


def turnaround_model(
    kind: str, concurrency: int, run_s: float, shares_gil: bool, cpus: int, steps: list[dict]
) -> dict | None:
    """The simple model with each slot's measured turnaround added to its call: slots/(t + g).

    g is the mean idle time of a slot between two calls with the next already due
    (``steps[].turnaround``), read at the lowest-rate saturated step, where slots were fed
    without pause. Not for CPU work sharing one GIL: there another thread runs in the gap."""
    kind = word(kind)
    if (
        not run_s
        or run_s <= 0
        or kind not in ("io-bound", "cpu-bound")
        or (kind == "cpu-bound" and shares_gil)
    ):
        return None
    fed = [
        s
        for s in counted(steps)
        if not s["sustained"] and (s.get("turnaround") or {}).get("count", 0) >= TURNAROUND_MIN_GAPS
    ]
    if not fed:
        return None
    step = min(fed, key=lambda s: s["offered"])
    gap = step["turnaround"]["mean"]
    slots = concurrency if kind == "io-bound" else min(concurrency, cpus)
    return {
        "value": slots / (run_s + gap),
        "turnaround_s": gap,
        "gaps": step["turnaround"]["count"],
        "at_rate": step["offered"],
        "formula": f"{slots}/(t + g) = {slots}/({run_s:.4f} + {gap:.4f} s)",
    }
