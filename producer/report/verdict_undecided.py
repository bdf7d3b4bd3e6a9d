"""What an undecided verdict says of itself: why the rounds stopped, how many more would
answer its question, and what to run next. The question is :func:`decide.question`, the
one ``--repeat auto`` asks after every round."""

from __future__ import annotations

from producer.measure import decide
from producer.measure.decide import MAX_AUTO_ROUNDS
from producer.report.document import Document, Result, finding
from producer.report.verdict_notes import few_rounds


def comparison_of(r: Result | None) -> decide.Comparison | None:
    if not r or not r.get("comparison"):
        return None
    c = r["comparison"]
    return decide.Comparison(c["low"], c["mid"], c["high"], c["n"], c["class"])


def cores_of(r: Result | None, base: Result) -> bool:
    """It kept more cores busy than the baseline, or that is unknown (decide.keeps_cores).
    Asked of local rows only, as the stopping rule asks it: a broker's workers share the
    process tree's count with every other pool's idle workers, or are not in it at all."""
    if r is None or r.get("via") == "broker":
        return True
    return decide.keeps_cores(busy_cores(r), busy_cores(base))


def busy_cores(r: Result) -> float | None:
    """CPU/wall; for a batch too short for clock ticks, its tasks' own CPU time (thread clocks,
    precise) over its wall time: a busy machine's starved baseline must not make a GIL-bound
    pool look parallel only because its batch was short."""
    if util := (r.get("cpu_util") or {}).get("median"):
        return util
    task_cpu, wall = (r.get("task_cpu_s") or {}).get("median"), (r.get("wall_s") or {}).get("median")
    return task_cpu / wall if task_cpu and wall else None


def next_steps(doc: Document, threads: Result | None, procs: Result | None) -> list[dict]:
    results = doc["results"]
    models = {r.get("model") for r in results[1:]}
    notes: list[dict] = []
    steps = []
    if "threads" not in models:
        steps.append("add --backends threads")
    if not any(r.get("shares_gil") is False for r in results[1:]):
        steps.append("add --backends processes")
    if few := few_rounds(results):
        notes.append(few)
    if lacking := budget(doc, threads, procs, doc["results"][0]):
        notes.append(lacking)
    steps.append("raise --max-time or --repeat, --size or --tasks, or measure on a quieter machine")
    return [*notes, finding("next-steps", "info", steps=steps)]


def budget(doc: Document, threads: Result | None, procs: Result | None, base: Result) -> dict | None:
    """Why the rounds stopped while the verdict's question was still open (the budget ran
    out, or a fixed --repeat), and how many more rounds would answer it. Nothing when the
    question was answered and the verdict is undecided for another reason."""
    cores = (cores_of(threads, base), cores_of(procs, base))
    if decide.question(comparison_of(threads), comparison_of(procs), cores) != decide.OPEN:
        return None
    open_rows = [r for r in (threads, procs) if r and not decide.settled(comparison_of(r), cores_of(r, base))]
    if not open_rows:
        return None
    estimates = [decide.more_rounds(comparison_of(r), cores_of(r, base)) for r in open_rows]
    n = open_rows[0]["comparison"]["n"]
    repeat = doc["settings"].get("repeat")
    per_round = sum((r["wall_s"] or {}).get("median", 0.0) for r in doc["results"])
    spent_s = sum(rnd["wall_s"] for r in doc["results"] for rnd in r["rounds"] if not rnd["warmup"])
    max_time = doc["settings"].get("max_time") or 0
    if repeat not in (None, "auto"):
        cause = "repeat"
    elif n >= MAX_AUTO_ROUNDS:
        cause = "max-rounds"
    else:  # the batches' own time; the gaps between them add a little
        cause = "max-time" if spent_s >= 0.8 * max_time else "stopped"
    more = None if any(e is None for e in estimates) else max(estimates)
    spent = (doc["settings"].get("max_time") or 0) if cause == "max-time" else per_round * n
    return finding(
        "undecided-budget",
        "info",
        cause=cause,
        rounds=n,
        spent_s=spent_s,
        max_time_s=max_time,
        more_rounds=more,
        more_s=None if more is None else more * per_round,
        suggest_s=None if more is None else max(spent, per_round * n) + more * per_round * 1.5,
    )
