"""What the verdict says beyond the GIL build: free threading, its single-thread cost, and
subinterpreters with theirs. Sentences made from the rows' data, as the verdict's are.

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

from producer.report.document import Result

SUBINTERPRETER_COSTS = (
    "the function and its arguments are pickled into each interpreter, so its module must be "
    "importable there (a function defined in __main__ is not), and C extensions must support "
    "subinterpreters (many, psutil among them, do not yet)"
)


def notes_of_interpreters(
    kind: str, gil: bool, local: str | None, results: list[Result], cost: dict | None
) -> list[str]:
    python = results[0].get("python") or {}
    notes = []
    if python.get("free_threaded_build") and not gil and kind in ("cpu-bound", "mixed"):
        notes.append(_free_threading_cost(cost, local))
    subs = next((r for r in results if r["family"] == "local" and r["backend"] == "interpreters"), None)
    comparison = (subs or {}).get("comparison")
    if subs and subs["ok"] and comparison and comparison["class"] == "faster":
        shown = f"{comparison['mid']:.2f}x [{comparison['low']:.2f}-{comparison['high']:.2f}]"
        picked = "They are the pick: they" if local == "interpreters" else "They"
        notes.append(
            f"Subinterpreters ran it {shown} faster: one process, one GIL per interpreter. "
            f"{picked} cost this: {SUBINTERPRETER_COSTS}."
        )
    return notes


def _free_threading_cost(cost: dict | None, local: str | None) -> str:
    valid = (
        " Threads (and the Celery threads pool) are a valid answer for pure-Python work here."
        if local == "threads"
        else ""
    )
    if cost is None:
        return (
            "Threads run Python in parallel here, at a single-thread cost (about 5 to 10% in 3.14, more "
            "in 3.13t) that this run did not measure: add --python with a GIL build of the same "
            "version to see it." + valid
        )
    shown = f"{cost['mid']:.2f}x [{cost['low']:.2f}-{cost['high']:.2f}]"
    if cost["class"] == "same":
        how = f"one call took as long as on {cost['against']} ({shown} of its time)"
    else:
        how = f"one call took {shown} the time it took on {cost['against']}"
    return (
        f"Threads run Python in parallel here, at a single-thread cost: {how}, the sequential "
        "baselines paired by round (a difference of version counts in it too)." + valid
    )


def gil_back_on(results: list[Result]) -> list[str]:
    """A free-threaded build whose GIL was on, decided or not: why, where it is known."""
    pythons = [r.get("python") or {} for r in results]
    if not any(p.get("free_threaded_build") and p.get("gil_enabled") for p in pythons):
        return []
    culprits = sorted({m for p in pythons for m in p.get("gil_enabled_by") or []})
    why = (
        f"importing {', '.join(culprits)} (a C extension that has not declared it can run without the GIL) "
        "turned it back on"
        if culprits
        else "PYTHON_GIL=1 (or -X gil=1) turned it on, or an extension did"
    )
    return [
        f"This free-threaded build ran with the GIL on: {why}, so threads could not run Python in "
        "parallel; remove that module from the environment to see free threading."
    ]
