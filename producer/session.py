"""One comparison, from settings to the result document. Prints nothing.

The CLI, the Python API, ``sweep`` and the tests all call :func:`run`; what to show
and where to write it is their business.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import workloads
from producer import backends
from producer.errors import WorkloadNotFound
from producer.measure import host, preflight
from producer.measure.cputime import tree_cpu_s
from producer.measure.results import build
from producer.measure.rounds import Progress, run_rounds
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


def run(settings: Settings, progress: Progress | None = None, status: Status | None = None) -> Document:
    """Run every selected backend in interleaved rounds; return the verified, judged document."""
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
    )
    size = checked.size
    load["others_before_cores"] = others.cores()
    pools = [entry.pool for entry in map(backends.spec, settings.backends) if entry.needs_broker]
    stack = None
    with contextlib.ExitStack() as started:
        if pools and settings.broker_url is None:
            from producer.stack import EmbeddedStack

            allow = [] if workloads.is_builtin(workload.spec) else [workload.spec]
            if status:
                status(f"starting a private Redis and {', '.join(pools)} workers...")
            embedded = started.enter_context(EmbeddedStack(settings, pools, allow=allow))
            settings = settings.replace(broker_url=embedded.broker_url)
            stack = {"embedded": True, **embedded.describe()}
        elif pools:
            stack = {"embedded": False, "broker": mask_url(settings.broker_url)}
        runs = run_rounds(settings, workload.spec, size, progress)
    load["loadavg_after"] = host.loadavg()
    doc = build(
        runs,
        machine=host.describe(),
        workload={
            "name": workload.name,
            "spec": workload.spec,
            "size": size,
            "tasks": settings.tasks,
            "kind": workload.kind,
            "description": workload.description,
        },
        settings=settings_record(settings, tuning),
        stack=stack,
        environment=settings.environ,
        preflight=checked.as_dict(),
        load=load,
    )
    doc["verdict"] = judge(doc)
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
        "interleaved": True,
        **tuning,
    }
