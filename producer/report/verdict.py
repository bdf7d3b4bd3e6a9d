"""A plain-language reading of the numbers, as data: what kind of work this is, what to pick.

It judges from measured behaviour, not from the workload's name: CPU time per wall
second of the baseline says whether the work computes or waits, and how threads and
processes scaled says whether it holds the GIL. The result is a :class:`Verdict`
stored in the document; the exporters turn it into sentences.
"""

from __future__ import annotations

from producer.report.document import Document, Verdict

SCALES = 1.3
"""A speedup at least this large counts as scaling."""
FLAT = 1.15
"""A speedup below this counts as no gain."""
WAITS = 0.5
"""Baseline CPU/wall below this: the work mostly waits."""


def _speedup(r: dict | None) -> float | None:
    return r["speedup"]["median"] if r and r["ok"] and r["speedup"] else None


def _pick(results: list[dict], family: str, pools: tuple[str, ...], local: tuple[str, ...]):
    """The first measured backend of a kind: a local one by name, else its Celery twin by pool."""
    for r in results:
        if r["family"] == "local" and r["backend"] in local and _speedup(r) is not None:
            return r["backend"], _speedup(r)
    for r in results:
        if r["family"] == family and r["pool"] in pools and _speedup(r) is not None:
            return r["backend"], _speedup(r)
    return None, None


def judge(doc: Document) -> Verdict:
    results = doc["results"]
    seq = next((r for r in results if r["backend"] == "sequential"), None)
    evidence: dict = {"failed": [r["backend"] for r in results if not r["ok"]]}
    if not seq or not seq["ok"] or not seq["cpu_util"]:
        return _verdict("undecided", None, None, "low", "the sequential baseline did not complete", evidence)
    util = seq["cpu_util"]["median"]
    t_name, threads = _pick(results, "celery", ("threads",), ("threads",))
    p_name, procs = _pick(results, "celery", ("prefork",), ("processes",))
    evidence.update(baseline_cpu_util=util, threads=[t_name, threads], processes=[p_name, procs])
    gil = doc["machine"].get("gil_enabled", True)
    if util < WAITS:
        kind, reason = "io-bound", f"run alone it kept a core busy only {util:.0%} of the time"
        local, pool = "threads", "threads"
    elif threads is not None and threads >= SCALES:
        kind = "cpu-bound" if not gil else "gil-releasing"
        why = "the interpreter has no GIL" if not gil else "it runs in C code that releases the GIL"
        reason = f"threads scaled ({t_name} {threads:.2f}x): {why}"
        local, pool = "threads", "threads"
    elif (
        threads is not None
        and threads < FLAT
        and (procs is None or procs >= max(FLAT, SCALES * min(threads, 1.0)))
    ):
        kind = "cpu-bound"
        reason = (
            f"threads gained nothing ({t_name} {threads:.2f}x): the GIL lets one thread run Python at a time"
        )
        if procs:
            reason += f"; processes, each with its own GIL, ran it faster ({p_name} {procs:.2f}x)"
        local, pool = "processes", "prefork"
    else:
        return _verdict(
            "undecided",
            None,
            None,
            "low",
            "neither threads nor processes clearly won; the batch may be too small to amortise "
            "their overhead (try more --tasks or a larger --size)",
            evidence,
        )
    ran = {r["backend"] for r in results if r["ok"]}
    pools_ran = {r["pool"] for r in results if r["family"] == "celery" and r["ok"]}
    ranked = {
        r["pool"]: _speedup(r) for r in results if r["family"] == "celery" and r["ok"] and not r["caveats"]
    }
    evidence["celery"] = ranked
    return _verdict(
        kind,
        local if local in ran else None,
        pool if pool in pools_ran and (ranked.get(pool) or 0) >= 1.0 else None,
        "medium",
        reason,
        evidence,
    )


def _verdict(kind, local, celery, confidence, reason, evidence) -> Verdict:
    return Verdict(
        kind=kind,
        recommend={"local": local, "celery": celery},
        confidence=confidence,
        reason=reason,
        evidence=evidence,
        notes=[],
    )
