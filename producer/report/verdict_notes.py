"""What the verdict says beyond the GIL build: free threading, its single-thread cost, and
subinterpreters with theirs. Findings made from the rows' data (their sentences are made
by :mod:`producer.report.messages`).

- On a free-threaded build with the GIL off, threads (and the Celery threads pool) are a
  valid answer for pure-Python work, but each call runs slower than on a GIL build: the
  verdict states that cost when the run measured it (``--python``: the group's baseline
  against the first interpreter's), and says how to measure it when it did not.
- A free-threaded build whose GIL came back on is said to be so (decided or not), with the
  module that turned it on where it is known.
- Subinterpreters are named with what they cost: the function and its arguments are
  pickled into each interpreter, its module must be importable there, and C extensions
  must support subinterpreters.
"""

from __future__ import annotations

from producer.measure.decide import MIN_ROUNDS
from producer.report.document import Document, Result, finding

BUSY_CORES = 0.5
"""Other programs keeping this many cores busy make the machine 'busy' (when the work needs them)."""
STARVED = 0.1
"""Baseline tasks spending this share of their time in the run queue were starved of a CPU."""
MIXED = 0.2
"""As :data:`producer.report.verdict.MIXED`: work waiting less than this share computes."""

SUBINTERPRETER_COSTS = (
    "the function and its arguments are pickled into each interpreter, so its module must be "
    "importable there (a function defined in __main__ is not), and C extensions must support "
    "subinterpreters (many, psutil among them, do not yet)"
)


def notes_of_interpreters(
    kind: str, gil: bool, local: Result | None, results: list[Result], cost: dict | None
) -> list[dict]:
    python = results[0].get("python") or {}
    notes = []
    picked = (local or {}).get("model")
    if python.get("free_threaded_build") and not gil and kind in ("cpu-bound", "mixed"):
        notes.append(
            finding(
                "free-threading-cost",
                "info",
                cost=cost,
                threads_picked=picked == "threads",
                baseline_thread="started",  # backends/child.py: never the main thread
            )
        )
    subs = [r for r in results[1:] if r.get("via", "local") == "local" and r.get("model") == "interpreters"]
    for r in subs:
        comparison = r.get("comparison")
        if r["ok"] and comparison and comparison["class"] == "faster":
            notes.append(
                finding(
                    "subinterpreters",
                    "info",
                    backend=r["backend"],
                    comparison=comparison,
                    picked=local is r,
                    costs=SUBINTERPRETER_COSTS,
                )
            )
    return notes


def gil_back_on(results: list[Result]) -> list[dict]:
    """A free-threaded build whose GIL was on, decided or not: why, where it is known."""
    pythons = [r.get("python") or {} for r in results]
    if not any(p.get("free_threaded_build") and p.get("gil_enabled") for p in pythons):
        return []
    culprits = sorted({m for p in pythons for m in p.get("gil_enabled_by") or []})
    return [finding("gil-back-on", "warn", culprits=culprits)]


def busy_machine(doc: Document, split: dict | None, others: float | None, cpus: int) -> dict | None:
    """Other programs' load counts in proportion to the CPU the work needs: it lowers the
    confidence only where the two together ask more than the machine has."""
    if others is None or others < BUSY_CORES:
        return None
    own = (split["cpu"] + split["waiting"]) if split else 0.0  # run-queue time is the load's, not the work's
    share = split["cpu"] / own if split and own > 0 else 1.0
    settings = doc["settings"]
    needs = share * min(settings.get("concurrency") or 1, settings.get("tasks") or 1, cpus)
    if others + needs < cpus:
        return None
    return finding("busy-machine", "warn", others=others, cpus=cpus, needs=needs)


def work_notes(doc: Document, split: dict | None, cpus: int) -> list[dict]:
    notes = []
    base = doc["results"][0]
    if split and split["runq"] >= STARVED and not base.get("too_short"):  # not on microsecond tasks
        notes.append(finding("starved-baseline", "info", runq=split["runq"]))
    pools = [t for t in (doc.get("preflight") or {}).get("native_threads", []) if (t.get("threads") or 1) > 1]
    if pools:
        notes.append(
            finding(
                "native-threads", "warn", pools=[{"api": t["api"], "threads": t["threads"]} for t in pools]
            )
        )
    concurrency = doc["settings"]["concurrency"]
    computes = split is None or split["waiting"] < MIXED
    if concurrency > cpus and computes:
        notes.append(finding("oversubscribed", "info", concurrency=concurrency, cpus=cpus))
    return notes


def few_rounds(results: list[Result]) -> dict | None:
    """Every row measured, none with a comparison: too few rounds for any pick."""
    measured = [r for r in results[1:] if r["ok"] and r["wall_s"] and not r["too_short"]]
    if measured and all(r["comparison"] is None for r in measured):
        return finding("too-few-rounds", "warn", rounds=measured[0]["wall_s"]["n"], min=MIN_ROUNDS)
    return None
