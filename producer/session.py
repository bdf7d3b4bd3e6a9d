"""One comparison, from settings to the result document. Prints nothing.

The CLI, the Python API, ``sweep`` and the tests all call :func:`run`; what to show
and where to write it is their business.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import resource
import sys
from collections.abc import Callable
from dataclasses import dataclass

import workloads
from producer import backends, pythons
from producer.errors import WorkloadNotFound
from producer.measure import host, preflight
from producer.measure.cputime import tree_cpu_s
from producer.measure.results import build
from producer.measure.rounds import Progress, run_rounds
from producer.report import network
from producer.report.chunking import chunking_notes
from producer.report.document import Document
from producer.report.verdict import judge
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
def broker(settings: Settings, prepared: Prepared, status: Status | None = None, plans=None):
    """The settings to measure with, and what serves the Celery backends: an embedded stack
    (started here, stopped on leaving) or the running workers of ``settings.broker_url``."""
    pools = [entry.pool for entry in map(backends.spec, settings.backends) if entry.needs_broker]
    pools = list(dict.fromkeys(plan.pool for plan in plans)) if plans else pools
    if not pools:
        yield settings, None
    elif settings.broker_url is not None:
        yield settings, {"embedded": False, "broker": mask_url(settings.broker_url)}
    else:
        from producer.stack import EmbeddedStack

        spec = prepared.workload.spec
        allow = [] if workloads.is_builtin(spec) else [spec]
        if status:
            status(f"starting a private Redis and {', '.join(pools)} workers...")
        with EmbeddedStack(settings, pools, allow=allow, plans=plans) as embedded:
            yield settings.replace(broker_url=embedded.broker_url), {"embedded": True, **embedded.describe()}


def document(runs, settings: Settings, prepared: Prepared, stack: dict | None) -> Document:
    """The result document of measured runs, judged."""
    load = {**prepared.load, "loadavg_after": host.loadavg()}
    w = prepared.workload
    doc = build(
        runs,
        machine=host.describe(),
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
    doc["verdict"] = judge(doc)
    doc["verdict"]["notes"] += chunking_notes(doc)  # apart from the verdict's own logic
    doc["verdict"]["notes"] += network.rtt_notes(doc)
    doc["producer"] = {"pid": os.getpid(), "peak_rss_bytes": peak_rss_bytes()}
    if links := network.section(doc):
        doc["network"] = links
    return doc


def peak_rss_bytes() -> int:
    """The producer's own peak resident memory so far (children not included)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # Linux counts KiB, macOS bytes


def run(settings: Settings, progress: Progress | None = None, status: Status | None = None) -> Document:
    """Run every selected backend in interleaved rounds; return the verified, judged document.

    With ``settings.pythons`` every backend runs again under each interpreter (:mod:`producer.pythons`).
    """
    groups = pythons.groups(settings)
    pythons.check(settings, groups)
    prepared = prepare(settings, status)
    variants, plans, skipped = pythons.plan(settings, groups)
    with broker(settings, prepared, status, plans=plans) as (measured_with, stack):
        variants = [dataclasses.replace(v, settings=measured_with) for v in variants]  # the broker's URL
        runs = run_rounds(measured_with, prepared.workload.spec, prepared.size, progress, variants)
    doc = document(runs, measured_with, prepared, stack)
    if len(groups) > 1:
        doc["pythons"] = pythons.summarize(doc, groups, variants, skipped)
        doc["verdict"] = doc["pythons"][0]["verdict"]
    return doc


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
