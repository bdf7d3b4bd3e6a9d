"""One comparison, from settings to the result document. Prints nothing.

The CLI, the Python API, ``sweep`` and the tests all call :func:`run`; what to show
and where to write it is their business.
"""

from __future__ import annotations

import contextlib
import os
import resource
import sys
from collections.abc import Callable

import workloads
from producer import backends
from producer.errors import WorkloadNotFound
from producer.measure import host
from producer.measure.rounds import run_rounds
from producer.report.document import Document, build
from producer.report.verdict import judge
from producer.services.redis import mask_url
from producer.settings import USER_DEFAULT_SIZE, Settings

Progress = Callable[[int, int, str], None]
"""``progress(done, total, label)``, called as batches start."""
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
    size = settings.size if settings.size is not None else (workload.default_size or USER_DEFAULT_SIZE)
    tuning = host.share_malloc_arena()  # before any thread or pool exists
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
    )
    doc["verdict"] = judge(doc)
    doc["producer"] = {"pid": os.getpid(), "peak_rss_bytes": peak_rss_bytes()}
    return doc


def peak_rss_bytes() -> int:
    """The producer's own peak resident memory so far (children not included)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # Linux counts KiB, macOS bytes


def settings_record(settings: Settings, tuning: dict) -> dict:
    return {
        "backends": list(settings.backends),
        "tasks": settings.tasks,
        "concurrency": settings.concurrency,
        "repeat": settings.repeat,
        "warmup": settings.warmup,
        "start_method": settings.start_method,
        "timeout": settings.timeout,
        "worker_timeout": settings.worker_timeout,
        "startup_timeout": settings.startup_timeout,
        "broker": mask_url(settings.broker_url) if settings.broker_url else None,
        "workers": settings.workers,
        "interleaved": True,
        **tuning,
    }
