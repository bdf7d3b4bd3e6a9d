"""One session: a plan (:mod:`producer.plan`) executed, then judged. Prints nothing.

``execute(plan) -> document`` runs any plan's rows in interleaved rounds, served by their
families (:mod:`producer.backends.family`); ``judge(document, plan)`` adds each group's
verdict (and a sweep's summary). ``compare``, ``sweep``, ``--python`` and the API only build
plans; what to show and where to write it is their callers' business.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import resource
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import workloads
from producer import backends, pythons, sweep
from producer import plan as planning
from producer.backends.family import family
from producer.errors import WorkloadNotFound
from producer.measure import host, preflight
from producer.measure.cputime import tree_cpu_s
from producer.measure.results import build
from producer.measure.rounds import Progress, run_rounds
from producer.plan import Plan
from producer.report import network, verdict
from producer.report.chunking import chunking_notes
from producer.report.document import Document
from producer.services.redis import mask_url
from producer.settings import Settings

Status = Callable[[str], None]
"""``status(message)``: what the session is doing between batches (starting a stack)."""


def resolve_workload(spec: str) -> workloads.Workload:
    try:
        return workloads.resolve(spec)
    except workloads.WorkloadError as exc:
        raise WorkloadNotFound(str(exc)) from None


@dataclass
class Prepared:
    """What is known before any pool starts: the workload, its checked size, the machine."""

    workload: workloads.Workload
    size: int
    preflight: dict
    tuning: dict
    load: dict


def prepare(settings: Settings, status: Status | None = None) -> Prepared:
    """Resolve the workload, tune the process, and run the preflight (choosing the size)."""
    workload = resolve_workload(settings.workload)
    size = settings.size if settings.size is not None else (workload.default_size or None)
    tuning = host.share_malloc_arena()  # before any thread or pool exists
    others = host.OtherLoad(tree_cpu_s)
    load = {"loadavg_before": host.loadavg()}
    if status:
        status("calibrating the size..." if size is None or settings.calibrate else "preflight: one call...")
    checked = preflight.run(
        workload.spec,
        None if settings.calibrate else size,
        call_s=settings.call_ms / 1000,
        timeout=settings.timeout,
        concurrency=settings.concurrency,
        memory_limit_mib=settings.memory_limit,
    )
    load["others_before_cores"] = others.cores()
    return Prepared(workload, checked.size, checked.as_dict(), tuning, load)


@contextlib.contextmanager
def serve(plan: Plan, prepared: Prepared, status: Status | None = None) -> Iterator[tuple[Plan, dict | None]]:
    """The plan with its broker, and what the document says of the services that serve its rows:
    each family's, started embedded here and stopped on leaving, or running ones attached to."""
    spec = prepared.workload.spec
    allow = [] if workloads.is_builtin(spec) else [spec]
    with contextlib.ExitStack() as started:
        rows, stack, url = list(plan.rows), None, plan.settings.broker_url
        for name in plan.families():
            mine = [i for i, row in enumerate(rows) if row.spec.family == name]
            services = family(name).services(plan.settings, [rows[i] for i in mine], allow, status)
            services = started.enter_context(services)
            if services.broker_url is not None:
                url = services.broker_url
                for i in mine:
                    rows[i] = dataclasses.replace(rows[i], settings=rows[i].settings.replace(broker_url=url))
            stack = stack or services.stack
        yield (
            dataclasses.replace(plan, rows=tuple(rows), settings=plan.settings.replace(broker_url=url)),
            stack,
        )


def document(runs, settings: Settings, prepared: Prepared, stack: dict | None) -> Document:
    """The result document of measured runs, not yet judged."""
    load = {**prepared.load, "loadavg_after": host.loadavg()}
    w = prepared.workload
    doc = build(
        runs,
        machine=host.describe(backends.NEEDS.modules),
        workload={
            "name": w.name,
            "spec": w.spec,
            "size": prepared.size,
            "tasks": settings.tasks,
            "kind": w.kind,
            "description": w.description,
        },
        settings=settings_record(settings, prepared.tuning),
        stack=stack,
        environment=settings.environ,
        preflight=prepared.preflight,
        load=load,
    )
    doc["producer"] = {"pid": os.getpid(), "peak_rss_bytes": peak_rss_bytes()}
    if links := network.section(doc):
        doc["network"] = links
    return doc


def peak_rss_bytes() -> int:
    """The producer's own peak resident memory so far (children not included)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # Linux counts KiB, macOS bytes


def execute(plan: Plan, progress: Progress | None = None, status: Status | None = None) -> Document:
    """Run every row of ``plan`` in interleaved rounds; return the verified document, not judged."""
    prepared = prepare(plan.settings, status)
    with serve(plan, prepared, status) as (served, stack):
        runs = run_rounds(
            served.settings, prepared.workload.spec, prepared.size, progress, served.rows, backends.build
        )
    return document(runs, served.settings, prepared, stack)


def rounds(settings: Settings, spec: str, size: int, progress: Progress | None = None) -> list:
    """The measured runs of ``compare``'s plan for backends that need no services (tests)."""
    rows = planning.compare(settings).rows
    return run_rounds(settings, spec, size, progress, rows, backends.build)


def judge(doc: Document, plan: Plan) -> Document:
    """The verdict of each group (``--python``), read at the sweep's level for a sweep; and the
    sweep's own summary. Changes and returns ``doc``."""
    pairs = list(zip(doc["results"], plan.rows, strict=True))
    at = sweep.level(doc, plan) if plan.sweep else None
    chosen = (lambda rows: sweep.at(rows, at)) if at is not None else list
    if plan.sweep:
        doc["sweep"] = sweep.summarize(doc, plan)
    if len(plan.groups) > 1:
        doc["pythons"] = pythons.summarize(doc, plan, chosen)
        verdicts = [group["verdict"] for group in doc["pythons"]]
    else:
        verdicts = [verdict.judge({**doc, "results": [r for r, _ in chosen(pairs)]})]
    if at is not None:
        for said in verdicts:
            sweep.say_level(said, doc, at)
    doc["verdict"] = verdicts[0]
    doc["verdict"]["notes"] += chunking_notes(doc)  # apart from the verdict's own logic
    doc["verdict"]["notes"] += network.rtt_notes(doc)
    return doc


def run(settings: Settings, progress: Progress | None = None, status: Status | None = None) -> Document:
    """``compare``: every selected backend (under each of ``settings.pythons`` too) in interleaved
    rounds; the verified, judged document."""
    return run_plan(planning.compare(settings), progress, status)


def run_plan(plan: Plan, progress: Progress | None = None, status: Status | None = None) -> Document:
    """Plan, execute, judge: any plan (``compare``, ``sweep``, the API) goes through here."""
    return judge(execute(plan, progress, status), plan)


def settings_record(settings: Settings, tuning: dict) -> dict:
    return {
        "backends": list(settings.backends),
        "tasks": settings.tasks,
        "concurrency": settings.concurrency,
        "repeat": settings.repeat if settings.repeat is not None else "auto",
        "max_time": settings.max_time,
        "warmup": settings.warmup,
        "size": "auto" if settings.calibrate else settings.size,
        "call_ms": settings.call_ms,
        "start_method": settings.start_method,
        "timeout": settings.timeout,
        "worker_timeout": settings.worker_timeout,
        "startup_timeout": settings.startup_timeout,
        "broker": mask_url(settings.broker_url) if settings.broker_url else None,
        "broker_source": settings.broker_source,
        "workers": settings.workers,
        "memory_limit": settings.memory_limit,
        "pythons": [python.executable for python in settings.pythons],
        "interleaved": True,
        "chunks": settings.chunks,
        "prefetch": settings.prefetch,
        "no_result": settings.no_result,
        **(
            {"hosts": True, "link": settings.link.text() if settings.link else None} if settings.hosts else {}
        ),
        **tuning,
    }
