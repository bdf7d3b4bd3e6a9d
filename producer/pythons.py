"""Several interpreters in one run (``--python PATH``, repeatable): a group of rows for each.

The producer's own Python comes first, then each ``--python`` in order. Every group gets
the selected backends again, run under its interpreter: the local backends' children
(:mod:`producer.backends.launch`) and, embedded, a distributed family's workers of its own
on queues of its own. All rows run in the same interleaved rounds, so drift hits every interpreter
alike; each group's speedups are against its own sequential baseline, every result is
verified against the first group's baseline (the same function must give the same
answers everywhere), and each group gets a verdict of its own. What sets the groups
apart is stated once, as the single-thread cost of each against the first: its baseline's
time over the first's, round by round, with the interval of those ratios (for a
free-threaded build against a GIL build of the same version, the free-threading tax).

With ``--broker`` the running workers are the user's, whatever they run under: their rows are
measured once, in the first group, and listed in every group they serve (``served``); each
row says which Python its workers reported. The rows themselves are planned in
:mod:`producer.plan`; this summarizes what the groups measured.
"""

from __future__ import annotations

from producer.measure import decide
from producer.plan import Group, Plan, groups
from producer.report import verdict
from producer.report.document import Document
from producer.services.environ import Interpreter

__all__ = ["Group", "groups", "single_thread_cost", "summarize"]


def summarize(doc: Document, plan: Plan, judged=list) -> list[dict]:
    """Each group: its interpreter, its rows, its single-thread cost against the first, its verdict.

    ``judged(pairs)`` picks the (result, row) pairs the verdict reads (a sweep's, at one level).
    A row of running workers (``--broker``) is measured once, in the first group, and listed in
    every group it serves (``served``); each verdict reads only rows of its own group's baseline."""
    pairs = list(zip(doc["results"], plan.rows, strict=True))
    first = pairs[0][0]
    out = []
    for group in plan.groups:
        rows = [(r, row) for r, row in pairs if row.group == group.label]
        base = rows[0][0]
        cost = None if group.first else single_thread_cost(base, first)
        said = verdict.judge(
            {**doc, "results": [r for r, _ in judged(rows)]},
            cost=cost and {**cost, "against": plan.groups[0].label},
        )
        served = [r["backend"] for r, row in pairs if group.label in row.served]
        python = base["python"] if base["python"].get("python_version") else _facts(group.interpreter)
        out.append(
            {
                "label": group.label,
                "python": python,
                "rows": [r["backend"] for r, _ in rows] + served,
                "served": served,
                "skipped": plan.skipped.get(group.label, []),
                "single_thread_cost": cost,
                "verdict": said,
            }
        )
    return out


def _facts(python: Interpreter) -> dict:
    return {
        "executable": python.executable,
        "python_implementation": python.implementation,
        "python_version": python.version,
        "gil_enabled": python.gil_enabled,
        "free_threaded_build": python.free_threaded_build,
    }


def single_thread_cost(base: dict, first: dict) -> dict | None:
    """This baseline's batch time over the first baseline's, paired by round; None if unmeasured."""
    if not (base["ok"] and first["ok"]) or base["too_short"] or first["too_short"]:
        return None
    theirs = {r["round"]: r["wall_s"] for r in first["rounds"] if not r["warmup"]}
    mine = [r for r in base["rounds"] if not r["warmup"] and r["round"] in theirs]
    ratios = [r["wall_s"] / theirs[r["round"]] for r in mine]
    comparison = decide.compare(ratios)
    if comparison is None:
        return None
    word = {"faster": "slower", "slower": "faster"}.get(comparison.verdict, comparison.verdict)
    return {**comparison.as_dict(), "class": word}
