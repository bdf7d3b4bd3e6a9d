"""Several interpreters in one run (``--python PATH``, repeatable): a group of rows for each.

The producer's own Python comes first, then each ``--python`` in order. Every group gets
the selected backends again, run under its interpreter: the local backends' children
(:mod:`producer.backends.launch`) and, embedded, Celery workers of its own on queues of
its own. All rows run in the same interleaved rounds, so drift hits every interpreter
alike; each group's speedups are against its own sequential baseline, every result is
verified against the first group's baseline (the same function must give the same
answers everywhere), and each group gets a verdict of its own. What sets the groups
apart is stated once, as the single-thread cost of each against the first: its baseline's
time over the first's, round by round, with the interval of those ratios (for a
free-threaded build against a GIL build of the same version, the free-threading tax).

With ``--broker`` the Celery workers are the user's, whatever they run under: their rows
are in the first group only, and each row says which Python its workers reported.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from producer import backends
from producer.errors import UsageError
from producer.measure import decide
from producer.measure.rounds import Variant
from producer.report.document import Document
from producer.report.verdict import judge
from producer.services.environ import WORKER_MODULES, Interpreter
from producer.settings import Settings
from worker.protocol import queue_for


@dataclass(frozen=True)
class Group:
    label: str
    """How its rows are marked, e.g. ``3.13.5t``; empty when it is the only group."""
    interpreter: Interpreter
    first: bool


def groups(settings: Settings, here: Interpreter | None = None) -> list[Group]:
    """This Python, then each of ``settings.pythons`` not already in the list."""
    found: dict[str, Interpreter] = {}
    for python in (here or Interpreter.current(), *settings.pythons):
        found.setdefault(python.executable, python)
    pythons = list(found.values())
    if len(pythons) == 1:
        return [Group("", pythons[0], True)]
    labels = [p.label for p in pythons]
    seen: Counter = Counter()
    out = []
    for i, (python, label) in enumerate(zip(pythons, labels, strict=True)):
        seen[label] += 1
        out.append(Group(label + (f"#{seen[label]}" if labels.count(label) > 1 else ""), python, i == 0))
    return out


def check(settings: Settings, found: list[Group]) -> None:
    """UsageError, before any work, for a backend that no interpreter of the run can serve."""
    embedded = settings.broker_url is None
    for name in settings.backends:
        entry = backends.spec(name)
        if entry.requires == backends.RUNNING_WORKERS and embedded:
            raise UsageError(
                f"{name} reaches running workers on queue '{entry.params['queue']}' (compose's "
                "worker-threads-ft): give --broker or REDIS_URL; embedded, use --python with a "
                "free-threaded build and celery-threads"
            )
        nowhere = all(g.interpreter.no_interpreter_pool for g in found)
        if entry.requires == backends.INTERPRETER_POOL and nowhere:
            why = found[0].interpreter.no_interpreter_pool
            raise UsageError(
                f"{name}: {why}; run it under a Python that has InterpreterPoolExecutor with --python PATH "
                "(3.14, or 3.12/3.13 with interpreters-pep-734)"
            )
        if entry.needs_broker and embedded:
            needed = (*WORKER_MODULES, *(["gevent"] if entry.pool == "gevent" else []))
            for group in found:
                if missing := [m for m in needed if m in group.interpreter.missing]:
                    raise UsageError(_lacks(group, entry.pool, missing))


def _lacks(group: Group, pool: str, missing: list[str]) -> str:
    exe = group.interpreter.executable
    which = "this Python" if group.first else "--python"
    gevent = " gevent" if "gevent" in missing else ""
    return (
        f"{which} {exe} cannot run the embedded {pool} workers: it lacks {', '.join(missing)}; install "
        f"poolbench there (`{exe} -m pip install poolbench{gevent}`), or for a free-threaded build run "
        "scripts/build-free-threaded-python"
    )


def plan(settings: Settings, found: list[Group]) -> tuple[list[Variant], list, dict]:
    """The rows of every group (its baseline first), the embedded workers they need (``WorkerPlan``),
    and what did not run where (group label -> sentences)."""
    from producer.backends.celery.workers import WorkerPlan  # imports Celery: only when it is used

    variants, plans, skipped = [], [], {}
    for group in found:
        for name in settings.backends:
            entry = backends.spec(name)
            label = f"{name} [{group.label}]" if group.label else name
            why = not_here(entry, group, settings)
            if why:
                skipped.setdefault(group.label, []).append(f"{name}: {why}")
                continue
            params = local_params(entry, group)
            if entry.needs_broker and settings.broker_url is None:
                params["queue"] = queue_for(entry.pool) + queue_suffix(group)
                count = settings.workers.get(entry.pool, 1)
                plans.append(
                    WorkerPlan(entry.pool, params["queue"], count, settings.concurrency, group.interpreter)
                )
            variants.append(Variant(label, name, settings, params, group=group.label))
    return variants, plans, skipped


def local_params(entry: backends.BackendSpec, group: Group) -> dict:
    """What a backend of ``entry`` is built with to run under the group's interpreter (none
    under the producer's own: every backend runs there as it always has)."""
    if not group.first and entry.family == backends.LOCAL and entry.requires != backends.IN_PROCESS:
        return {"interpreter": group.interpreter}
    return {}


def queue_suffix(group: Group) -> str:
    """The first group's workers consume the pools' own queues; the others', queues of their own."""
    return "" if group.first else "-" + re.sub(r"[^A-Za-z0-9.]+", "-", group.label).strip("-")


def not_here(entry: backends.BackendSpec, group: Group, settings: Settings) -> str | None:
    if entry.requires == backends.INTERPRETER_POOL:
        return group.interpreter.no_interpreter_pool
    if group.first:
        return None
    if entry.requires == backends.IN_PROCESS:
        return "it runs in the producer's own process, so only under its Python"
    if entry.needs_broker and settings.broker_url is not None:
        return "with --broker the Celery workers are yours: their rows are in the first group"
    return None


def summarize(
    doc: Document, found: list[Group], variants: list[Variant], skipped: dict, judged=None
) -> list[dict]:
    """Each group: its interpreter, its rows, its single-thread cost against the first, its verdict.

    ``judged(rows)`` picks the (result, variant) pairs the verdict reads (a sweep's, at one level)."""
    results = doc["results"]
    first = results[0]
    out = []
    for group in found:
        rows = [(r, v) for r, v in zip(results, variants, strict=True) if v.group == group.label]
        base = rows[0][0]
        cost = None if group.first else single_thread_cost(base, first)
        verdict = judge(
            {**doc, "results": [{**r, "backend": v.backend} for r, v in (judged or list)(rows)]},
            cost=cost and {**cost, "against": found[0].label},
        )
        python = base["python"] if base["python"].get("python_version") else _facts(group.interpreter)
        out.append(
            {
                "label": group.label,
                "python": python,
                "rows": [r["backend"] for r, _ in rows],
                "skipped": skipped.get(group.label, []),
                "single_thread_cost": cost,
                "verdict": verdict,
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
