"""What a result says of its tasks: the folded aggregates (:mod:`producer.measure.fold`),
the typical round's timeline and a stated sample, never every record."""

from __future__ import annotations

from producer.document import Result, Round, finding
from producer.measure import decide
from producer.measure.memory import summarise
from producer.measure.picture import SAMPLE_RULE, typical
from producer.measure.spread import METHOD


def add_tasks(out: Result, run, producer_host: str | None) -> None:
    """Per-task figures, Celery's breakdown and memory, the timeline and the sample."""
    fold = run.fold
    costs = fold.breakdown(producer_host)
    if costs:
        out["breakdown"] = costs
    out["memory"] = summarise([b.memory for b in run.measured])
    if fold.queue_s.n:
        out["queue_wait_s"] = fold.queue_s.as_dict()
    if fold.run_s.n:
        out["task_run_s"] = fold.run_s.as_dict()
    measured = run.measured
    pick = typical([b.wall_s for b in measured])
    out["tasks"] = {"verified": fold.records, "measured": fold.measured, "method": METHOD, "sample": None}
    out["timeline"] = None
    if pick is None:
        return
    b = measured[pick]
    out["tasks"]["sample"] = {"rule": SAMPLE_RULE, "round": pick + 1, "of": b.task_count, "tasks": b.sample}
    if b.picture:
        out["timeline"] = {"round": pick + 1, "rounds": len(measured), "wall_s": b.wall_s, **b.picture}


def round_of(b) -> Round:
    """A round's figures; its tasks' records only for a round of at most ``picture.WHOLE``."""
    kept = {"tasks": b.tasks} if b.tasks else {}
    return Round(
        **kept,
        round=b.round,
        warmup=b.warmup,
        wall_s=b.wall_s,
        cpu_s=b.cpu_s,
        task_count=b.task_count,
        task_cpu_s=b.task_cpu_s,
        disturbed=b.disturbed,
        others_cores=b.others_cores,
        memory={k: v for k, v in (b.memory or {}).items() if k != "per_process"} or None,
    )


def beyond_ideal(low: float, bound: dict, run, baseline) -> dict:
    """A gain no parallelism explains, with its measured cause, or called unexplained."""
    mine, theirs = run.fold.median_task_cpu_s(), baseline.fold.median_task_cpu_s()
    cheaper = theirs > 0 and mine < theirs / decide.SCALES
    return finding(
        "beyond-ideal",
        "warn",
        low=low,
        ideal=bound["value"],
        limit=bound["limit"],
        task_cpu_s=mine,
        baseline_task_cpu_s=theirs,
        cause="cheaper-tasks" if cheaper else "unexplained",
    )
