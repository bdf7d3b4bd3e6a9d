"""The ideal speedup of a backend: how much faster than the baseline it can be at best.

One model, for every place that needs it (efficiency, the beyond-ideal check, the
sweep's knee, the charts' ideal line), stored with its basis in each result's ``ideal``:

    ideal = min(concurrency, tasks, usable CPUs / the baseline's CPU share)

where the baseline's CPU share is the share of its tasks' wall time (less any time queued
for a CPU) spent on a CPU (1.0 for pure computing, near 0 for ``sleep``). It is the bound
of a resource-limited system (the "roofline" argument, and the capacity bound of operational analysis,
Denning & Buzen 1978): at most ``concurrency`` tasks run at once, at most ``tasks``
exist, and CPUs that each task keeps busy ``share`` of its time can carry at most
``CPUs / share`` of them at once. Work that waits (``sleep``, I/O) is bounded by the
concurrency, not by the CPUs; work that computes is bounded by the CPUs. The model
ignores start-up skew and the GIL: the GIL is what the comparison measures.
"""

from __future__ import annotations

MIN_SHARE = 0.01
"""A CPU share below this counts as this (it only lifts the CPU bound above any concurrency)."""


def ideal(concurrency: int, tasks: int, cpus: int, cpu_share: float | None) -> dict:
    """``{"value", "limit", "concurrency", "tasks", "cpus", "cpu_share"}``; ``limit`` names the bound
    that binds (``concurrency``, ``tasks`` or ``cpus``). An unknown share counts as 1 (computing)."""
    share = 1.0 if cpu_share is None else min(1.0, max(MIN_SHARE, cpu_share))
    bounds = {"concurrency": float(max(1, concurrency)), "tasks": float(max(1, tasks)), "cpus": cpus / share}
    limit = min(bounds, key=lambda k: bounds[k])
    return {
        "value": bounds[limit],
        "limit": limit,
        "concurrency": concurrency,
        "tasks": tasks,
        "cpus": cpus,
        "cpu_share": cpu_share,
    }


def ideal_of(result: dict, cpus: int | None = None) -> float:
    """A result's ideal speedup: the stored one, else (schema 2) min(concurrency, tasks, CPUs)."""
    stored = result.get("ideal")
    if isinstance(stored, dict) and stored.get("value"):
        return float(stored["value"])
    eff = result.get("efficiency") or {}
    if eff.get("parallelism"):
        return float(eff["parallelism"])
    return float(min(result.get("concurrency") or 1, cpus or 1))
