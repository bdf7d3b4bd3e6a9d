"""The CLI's commands, given settings that have already been checked."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile

import workloads
from producer import backends, machine, measure, results
from producer.errors import EXIT_FAILED, EXIT_OK, EXIT_TIMEOUT, WorkloadNotFound
from producer.report import render
from producer.settings import USER_DEFAULT_SIZE, Settings
from producer.tuning import share_malloc_arena


def list_all() -> int:
    print("workloads (--workload NAME, or pkg.module:function, or path/to/file.py:function):")
    for name, (_, size, kind, text) in workloads.BUILTINS.items():
        print(f"  {name:<10} {kind:<10} default size {size:>9,}  {text}")
    print("backends (--backends a,b,...):")
    for name, text in backends.DESCRIPTIONS.items():
        print(f"  {name:<15} {text}")
    return EXIT_OK


def _progress(done: int, total: int, label: str) -> None:
    width = 24
    filled = width * done // total
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {label:<32}")
    if done == total:
        sys.stderr.write("\r" + " " * (width + 48) + "\r")
    sys.stderr.flush()


def compare(settings: Settings) -> int:
    try:
        workload = workloads.resolve(settings.workload)
    except workloads.WorkloadError as exc:
        raise WorkloadNotFound(str(exc)) from None
    size = settings.size if settings.size is not None else (workload.default_size or USER_DEFAULT_SIZE)
    tuning = share_malloc_arena()  # before any thread or pool exists
    pools = [backends.pool_of(n) for n in settings.backends if backends.is_celery(n)]
    stack_info = None
    with contextlib.ExitStack() as started:
        if pools and settings.broker_url is None:
            from producer.stack import EmbeddedStack

            allow = [] if workload.name in workloads.BUILTINS else [workload.spec]
            if settings.progress:
                sys.stderr.write(f"starting a private Redis and {', '.join(pools)} workers...\r")
            stack = started.enter_context(EmbeddedStack(settings, pools, allow=allow))
            settings = settings.replace(broker_url=stack.broker_url)
            stack_info = {"embedded": True, **stack.describe()}
        elif pools:
            from producer.broker import mask_url

            stack_info = {"embedded": False, "broker": mask_url(settings.broker_url)}
        runs = measure.run_rounds(settings, workload.spec, size, _progress if settings.progress else None)
    if stack_info is not None:
        stack_info["summary"] = _stack_summary(stack_info, runs)
    doc = results.build(
        runs,
        machine=machine.describe(),
        workload={
            "name": workload.name,
            "spec": workload.spec,
            "size": size,
            "tasks": settings.tasks,
            "kind": workload.kind,
            "description": workload.description,
        },
        settings=_settings_record(settings, tuning),
        stack=stack_info,
    )
    _emit(doc, settings.json_path)
    if doc["ok"]:
        return EXIT_OK
    return EXIT_TIMEOUT if any(r.timed_out for r in runs) else EXIT_FAILED


def _settings_record(settings: Settings, tuning: dict) -> dict:
    if settings.broker_url:
        from producer.broker import mask_url
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


def _stack_summary(info: dict, runs: list[measure.BackendRun]) -> str:
    served = ", ".join(
        f"{r.info.get('pool')}: {r.info.get('workers')} worker(s), "
        f"concurrency {r.info.get('total_concurrency')}"
        for r in runs
        if "pool" in r.info
    )
    if info["embedded"]:
        return (
            f"embedded Redis on {info.get('broker')} and its workers started in "
            f"{info['startup_s']:.2f} s (not inside any batch)\n        {served}"
        )
    return f"running workers via {info['broker']}; {served}"


def _emit(doc: dict, json_path: str | None) -> None:
    text = render(doc)
    if json_path == "-":
        json.dump(doc, sys.stdout, indent=2)
        sys.stdout.write("\n")
        sys.stderr.write(text)
        return
    sys.stdout.write(text)
    if json_path:
        folder = os.path.dirname(os.path.abspath(json_path))
        with tempfile.NamedTemporaryFile("w", dir=folder, delete=False, suffix=".tmp") as f:
            json.dump(doc, f, indent=2)
        umask = os.umask(0o022)
        os.umask(umask)
        os.chmod(f.name, 0o666 & ~umask)  # as open() would; the temporary file was private
        os.replace(f.name, json_path)
        sys.stdout.write(f"results written to {json_path}\n")
