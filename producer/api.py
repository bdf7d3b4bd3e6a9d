"""The Python API, for notebooks and tests: ``from producer import compare``.

    >>> from producer import compare
    >>> run = compare("squares", tasks=4, concurrency=2, backends=["threads", "processes"])
    >>> run.speedup("processes") > run.speedup("threads")
    True

``compare`` runs the same session as ``poolbench compare`` and returns its result
document (a dict, JSON-serialisable as it is) with a few accessors. It prints
nothing; errors are raised as :class:`producer.errors.PoolbenchError` subclasses.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable

import workloads
from producer import backends as registry
from producer import session
from producer import settings as defaults
from producer.errors import UsageError
from producer.report.document import Result, speedup_value
from producer.services.environ import Interpreter, inherited
from producer.settings import Settings


class Run(dict):
    """A result document, with accessors. It is the document: ``json.dump(run, f)`` works."""

    @property
    def ok(self) -> bool:
        """Every backend completed and every result matched the sequential baseline."""
        return self["ok"]

    @property
    def verdict(self) -> dict:
        return self["verdict"]

    @property
    def backends(self) -> list[str]:
        return [r["backend"] for r in self["results"]]

    def result(self, backend: str) -> Result:
        for r in self["results"]:
            if r["backend"] == backend:
                return r
        raise KeyError(f"{backend} did not run; these did: {', '.join(self.backends)}")

    def speedup(self, backend: str) -> float | None:
        """The speedup over the baseline, the report's one statistic: the geometric mean of the
        per-round ratios (the median of them in a schema 2 run); None if it failed."""
        return speedup_value(self.result(backend))

    def median_s(self, backend: str) -> float | None:
        wall = self.result(backend)["wall_s"]
        return wall["median"] if wall else None

    def report(self, fmt: str = "text", **options) -> str | bytes:
        """Render this run, e.g. ``run.report()`` or ``run.report("json")``."""
        from producer import report

        return report.render(fmt, self, **options)


def compare(
    workload: str | Callable,
    *,
    size: int | None = None,
    tasks: int = defaults.DEFAULT_TASKS,
    concurrency: int = defaults.DEFAULT_CONCURRENCY,
    backends: Iterable[str] = defaults.DEFAULT_BACKENDS,
    repeat: int = defaults.DEFAULT_REPEAT,
    warmup: int = defaults.DEFAULT_WARMUP,
    timeout: float = defaults.DEFAULT_TIMEOUT,
    broker: str | None = None,
    workers: dict[str, int] | None = None,
    start_method: str | None = None,
    memory_limit: int | None = None,
    chunks: int = 1,
    prefetch: int | None = None,
    no_result: bool = False,
    pythons: Iterable[str] = (),
) -> Run:
    """Time ``workload`` through ``backends`` (the sequential baseline always runs).

    ``workload`` is a built-in name, a ``module:function`` or ``file.py:function`` spec,
    or a function object defined at the top level of an importable module or file.
    ``broker``: a Redis URL of running workers; None starts a private Redis and workers
    for the Celery backends (the environment's REDIS_URL is not consulted here).
    ``memory_limit``: MiB a local backend's processes may grow by in a batch before the
    run stops with TooMuchMemory; None: half the memory available.
    ``chunks``, ``prefetch`` and ``no_result`` shape the Celery backends only, as the
    CLI's ``--chunks``, ``--prefetch`` and ``--no-result`` do.
    ``pythons``: paths of other interpreters to run every backend under as well (``--python``).
    """
    spec = workload if isinstance(workload, str) else _spec_of(workload)
    names = [registry.spec(name).name for name in backends]
    settings = Settings(
        workload=spec,
        size=size,
        tasks=tasks,
        concurrency=concurrency,
        backends=tuple(dict.fromkeys([registry.BASELINE, *names])),
        repeat=repeat,
        warmup=warmup,
        timeout=timeout,
        broker_url=broker,
        workers=dict(workers or {}),
        start_method=start_method,
        memory_limit=memory_limit,
        environ=inherited(os.environ),
        chunks=chunks,
        prefetch=prefetch,
        no_result=no_result,
        pythons=tuple(Interpreter.probe(path) for path in pythons),
    )
    return Run(session.run(settings))


def _spec_of(func: Callable) -> str:
    try:
        return workloads.spec_of(func)
    except workloads.WorkloadError as exc:
        raise UsageError(str(exc)) from None
