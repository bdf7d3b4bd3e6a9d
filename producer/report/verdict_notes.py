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

from producer.report.document import Result, finding

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
        notes.append(finding("free-threading-cost", "info", cost=cost, threads_picked=picked == "threads"))
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
