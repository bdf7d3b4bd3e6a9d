"""A plain-language reading of the numbers: what kind of work this is, and what to pick.

It judges from measured behaviour, not from the workload's name: CPU time per wall
second of the baseline says whether the work computes or waits, and how threads
and processes scaled says whether it holds the GIL.
"""

from __future__ import annotations

SCALES = 1.3
"""A speedup at least this large counts as scaling."""
FLAT = 1.15
"""A speedup below this counts as no gain."""


def _speedup(results: dict, name: str) -> float | None:
    r = results.get(name)
    return r["speedup"]["median"] if r and r["ok"] and r["speedup"] else None


def _first(results: dict, *names: str) -> tuple[str | None, float | None]:
    """The first of ``names`` that was measured: local backends, else their Celery twins."""
    for name in names:
        if (value := _speedup(results, name)) is not None:
            return name, value
    return None, None


def verdict(doc: dict) -> list[str]:
    results = {r["backend"]: r for r in doc["results"]}
    failed = [name for name, r in results.items() if not r["ok"]]
    out = []
    if failed:
        out.append(f"{', '.join(failed)} failed (see the problems above); its numbers say nothing.")
    seq = results.get("sequential")
    if not seq or not seq["ok"] or not seq["cpu_util"]:
        return out
    util = seq["cpu_util"]["median"]
    t_name, threads = _first(results, "threads", "celery-threads")
    p_name, procs = _first(results, "processes", "celery-prefork")
    gil = doc["machine"].get("gil_enabled", True)
    if util < 0.5:
        out.append(
            f"This work mostly waits: run alone it kept a core busy only {util:.0%} of the time, "
            "so tasks overlap their waiting and threads and processes both help; threads cost less."
        )
        local, pool = "threads", "threads pool (or gevent, for thousands of concurrent waits)"
    elif threads is not None and threads >= SCALES:
        why = "the interpreter has no GIL" if not gil else "it runs in C code that releases the GIL"
        out.append(f"Threads scaled ({t_name} {threads:.2f}x): {why}, so threads run it in parallel.")
        local, pool = "threads", "threads pool"
    elif (
        threads is not None
        and threads < FLAT
        and (procs is None or procs >= max(FLAT, SCALES * min(threads, 1.0)))
    ):
        out.append(
            f"Threads gained nothing ({t_name} {threads:.2f}x) on this CPU-bound work: the GIL lets "
            "one thread run Python at a time"
            + (
                f", while processes, each with its own GIL, ran it faster ({p_name} {procs:.2f}x)."
                if procs
                else "."
            )
        )
        local, pool = "processes", "prefork pool"
    else:
        out.append(
            "Neither threads nor processes clearly won here; the batch may be too small to "
            "amortise their overhead (try more --tasks or a larger --size)."
        )
        local, pool = None, None
    celery = {n.removeprefix("celery-"): _speedup(results, n) for n in results if n.startswith("celery-")}
    celery = {k: v for k, v in celery.items() if v is not None}
    distorted = [k for k in celery if results[f"celery-{k}"]["settings"].get("caveats")]
    ranked = {k: v for k, v in celery.items() if k not in distorted}
    shown = ", ".join(f"{k} {v:.2f}x" for k, v in celery.items())
    if distorted:
        out.append(f"Not ranked, because of the caveat above: {', '.join(distorted)}.")
    best = max(ranked, key=ranked.get) if ranked else None
    if best and ranked[best] < 1.0:
        out.append(
            f"No Celery pool beat the sequential baseline ({shown}): each task also pays a broker "
            "round trip, which short tasks do not earn back; try a larger --size."
        )
    elif best:
        agrees = pool is None or pool.startswith(best)
        little = "" if ranked[best] >= FLAT else ", though it gained little over the baseline"
        out.append(
            f"Celery pools ({shown}) "
            + ("follow the same rule: " if agrees else "ranked differently from the local run: ")
            + f"pick the {best} pool for this function{little}."
        )
    elif pool:
        out.append(f"In Celery that means the {pool}.")
    if local:
        out.append(f"Locally, use {local}.")
    cpus = doc["machine"].get("cpus_usable") or 1
    if doc["settings"]["concurrency"] > cpus and util >= 0.5:
        out.append(
            f"With --concurrency {doc['settings']['concurrency']} on {cpus} CPUs, processes take turns "
            f"on the cores and hold {doc['settings']['concurrency']} tasks' memory at once; "
            f"--concurrency {cpus} shows the ceiling for this machine."
        )
    return out
