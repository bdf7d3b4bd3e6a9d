"""Synthetic runs for the pure-logic tests of results, the verdict and the text report."""

from __future__ import annotations

from producer import backends
from producer.measure import host
from producer.measure.results import build
from producer.measure.runs import BackendRun, Batch
from producer.report.messages import codes, render
from producer.report.verdict import judge

PY = {"executable": "python", "python_implementation": "CPython", "python_version": "3.11.7"}


def fake_run(
    name,
    walls,
    cpu_share=1.0,
    concurrency=2,
    tasks=4,
    runq_share=0.0,
    caveats=(),
    gil=True,
    **settings,
):
    """A backend's measured rounds: each task as long as its batch, with these shares of CPU and run queue."""
    entry = backends.spec(name)
    info = {"name": name, "family": entry.family, "pool": entry.pool, "concurrency": concurrency}
    info |= {"model": entry.model, "via": entry.via, "shares_gil": entry.shares_gil}
    if entry.family == "celery":
        settings.setdefault("interpreter", {**PY, "gil_enabled": gil, "free_threaded_build": not gil})
    run = BackendRun(name, info={**info, "caveats": list(caveats), "settings": settings}, startup_s=0.01)
    for r, wall in enumerate(walls):
        recs = [
            {
                "index": i,
                "started": 0.0,
                "ended": wall * min(concurrency, 2) / tasks,
                "cpu_s": wall * min(concurrency, 2) / tasks * cpu_share,
                "runq_s": wall * min(concurrency, 2) / tasks * runq_share,
            }
            for i in range(tasks)
        ]
        run.batches.append(Batch(r, False, wall, wall * cpu_share * min(concurrency, 2), recs, [], 0.0))
    run.summaries = [{"count": 1}] * tasks
    return run


def make_doc(*runs, cpus=2, gil=True, concurrency=2, others=0.0, native_threads=()):
    machine = {**host.describe(), "cpus_usable": cpus, "gil_enabled": gil, "free_threaded_build": not gil}
    for run in runs:
        for batch in run.batches:
            batch.others_cores = others
    doc = build(
        list(runs),
        machine=machine,
        workload={"name": "w", "spec": "w", "size": 10, "tasks": 4, "kind": "user", "description": ""},
        settings={"tasks": 4, "concurrency": concurrency, "repeat": 4, "warmup": 1, "timeout": 60},
        stack=None,
        preflight={"size": 10, "call_s": 0.1, "native_threads": list(native_threads)},
        load={"loadavg_before": None, "others_before_cores": others},
    )
    doc["verdict"] = judge(doc)
    return doc


def by_name(doc, name):
    return next(r for r in doc["results"] if r["backend"] == name)


def said(items) -> str:
    """Findings rendered as the report says them, joined (for assertions on wording)."""
    return " ".join(render(i) for i in items)


def codes_of(items) -> list[str]:
    return codes(items)
