"""The Python API, for notebooks, scripts and tests: ``import poolbench``.

    >>> import poolbench
    >>> run = poolbench.compare("sleep", tasks=4, concurrency=2, backends=["threads"])
    >>> run
    <Run sleep: threads 1.98x [1.96-2.00] -> threads>
    >>> run.interval("threads").low > 1
    True

``compare`` takes every option of ``poolbench compare`` as a keyword, with the same
defaults and the same checks (a bad value raises :class:`producer.errors.UsageError`
before any work starts), runs the same session, and returns a :class:`Run`: the result
document (a dict, JSON-serialisable as it is) with accessors. It prints nothing.

A script that calls ``compare`` at its top level, without ``if __name__ == "__main__":``,
is imported again by poolbench to find its function, and that import calls ``compare``
again: this is detected and named in one line, never a hang.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterable
from typing import NamedTuple

import workloads
from producer import settings as defaults
from producer.errors import UsageError
from producer.report.document import Result, speedup_value

GUARD = "put the call under `if __name__ == '__main__':`"


class Interval(NamedTuple):
    """A backend's speedup over the baseline: the geometric mean of the per-round ratios, 95% interval."""

    mid: float
    low: float
    high: float

    def __str__(self) -> str:
        return f"{self.mid:.2f}x [{self.low:.2f}-{self.high:.2f}]"


class Run(dict):
    """A result document, with accessors. It is the document: ``json.dump(run, f)`` works."""

    @classmethod
    def load(cls, path: str) -> Run:
        """A run saved with :meth:`save` (or ``compare --json``), checked as ``report`` checks it."""
        from producer.report import saved

        return cls(saved.load(path))

    def save(self, path: str) -> str:
        """Write the document as ``compare --json`` does (whole or not at all); returns the path."""
        from producer.exports import write_file

        write_file(path, self.report("json"))
        return path

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

    def interval(self, backend: str) -> Interval | None:
        """The speedup's geometric mean and 95% interval, as the table shows it; None if not decided
        (the baseline, a failed backend, a batch too short, or too few rounds)."""
        c = self.result(backend).get("comparison")
        return Interval(c["mid"], c["low"], c["high"]) if c else None

    def speedup(self, backend: str) -> float | None:
        """The speedup over the baseline, the report's one statistic: the geometric mean of the
        per-round ratios (the median of them in a schema 2 run); None if it failed."""
        return speedup_value(self.result(backend))

    def median_s(self, backend: str) -> float | None:
        wall = self.result(backend)["wall_s"]
        return wall["median"] if wall else None

    def diff(self, other: Run, force: bool = False):
        """Backend by backend, what changed from this run to ``other`` (``poolbench diff``)."""
        from producer.report import diff

        return diff.compare(self, other, "this run", "the other", force=force)

    def report(self, fmt: str = "text", **options) -> str | bytes:
        """Render this run, e.g. ``run.report()``, ``run.report(verbose=2)`` or ``run.report("json")``."""
        from producer import report

        return report.render(fmt, self, **options)

    def __repr__(self) -> str:
        """``<Run sleep: threads 1.98x [1.96-2.00] -> threads>``: the best speedup and the pick."""
        name = os.path.basename((self.get("workload") or {}).get("name", "?"))
        decided = [(i, b) for b in self.backends if (i := self.interval(b))]
        best = f"{max(decided)[1]} {max(decided)[0]}" if decided else "no speedup decided"
        v = self.get("verdict") or {}
        pick = (v.get("recommend") or {}).get("local") or v.get("kind") or "no verdict"
        failed = "" if self.get("ok", True) else " FAILED"
        return f"<Run {name}{failed}: {best} -> {pick}>"

    def _repr_html_(self) -> str:
        return self.report("html")


class _Reentered(BaseException):
    """compare() called while its own workload's module was being imported: passes every
    ``except Exception`` on the way out, up to the compare() that imported it."""


def _importing() -> str | None:
    """The file or module poolbench is importing further up this thread's stack, if any."""
    from workloads import registry

    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_code is registry._import_file.__code__:
            return frame.f_locals.get("path")
        if frame.f_code is registry._import_module.__code__:
            return frame.f_locals.get("name")
        frame = frame.f_back
    return None


def compare(
    workload: str | Callable = "squares",
    *,
    size: int | str | None = None,
    call_ms: float = defaults.DEFAULT_CALL_MS,
    tasks: int = defaults.DEFAULT_TASKS,
    concurrency: int = defaults.DEFAULT_CONCURRENCY,
    backends: Iterable[str] = defaults.DEFAULT_BACKENDS,
    repeat: int | str | None = "auto",
    max_time: float = defaults.DEFAULT_MAX_TIME,
    warmup: int = defaults.DEFAULT_WARMUP,
    start_method: str | None = None,
    timeout: float = defaults.DEFAULT_TIMEOUT,
    worker_timeout: float = defaults.DEFAULT_WORKER_TIMEOUT,
    startup_timeout: float = defaults.DEFAULT_STARTUP_TIMEOUT,
    broker: str | None = None,
    broker_env: str | None = None,
    broker_file: str | None = None,
    workers: dict[str, int] | None = None,
    chunks: int = 1,
    prefetch: int | None = None,
    no_result: bool = False,
    hosts: bool = False,
    link: str | None = None,
    python: Iterable[str] = (),
    memory_limit: int | None = None,
    json: str | None = None,
    plot: str | None = None,
    html: str | None = None,
    markdown: str | None = None,
    csv: str | None = None,
    pythons: Iterable[str] = (),
) -> Run:
    """Time ``workload`` through ``backends`` (the sequential baseline always runs).

    Every keyword is the ``poolbench compare`` option of the same name, with its default
    and its checks: ``size`` an int, ``"auto"`` or None (the workload's own; auto for your
    functions); ``repeat`` an int or ``"auto"``; ``workers`` a dict such as
    ``{"prefork": 3}``; ``python`` paths of other interpreters (``pythons`` is its old name).
    ``broker``: a Redis URL of running workers; None starts a private Redis and workers for
    the Celery backends (the environment's REDIS_URL is not consulted here, ``broker_env``
    names a variable to read it from); ``hosts`` and ``link`` (root) put Redis and the
    workers in network namespaces behind a link such as ``"rtt=2ms"``. ``json``, ``plot``,
    ``html``, ``markdown`` and ``csv`` write those files after the run, as the flags do; the
    terminal-only flags (``--wide``, ``-v``, ``--no-progress``) are
    ``run.report(wide=..., verbose=...)``.

    ``workload`` is a built-in name, a ``module:function`` or ``file.py:function`` spec, or
    a function defined at the top level of an importable module or file.
    """
    importing = _importing()
    if importing:
        raise _Reentered(f"compare() ran again while importing {importing}: {GUARD}")
    from producer import cli, exports, session

    spec = workload if isinstance(workload, str) else _spec_of(workload)
    args = argparse.Namespace(
        workload=spec,
        size=size,
        call_ms=call_ms,
        tasks=tasks,
        concurrency=concurrency,
        backends=",".join(backends),
        repeat="auto" if repeat is None else repeat,
        max_time=max_time,
        warmup=warmup,
        start_method=start_method,
        timeout=timeout,
        worker_timeout=worker_timeout,
        startup_timeout=startup_timeout,
        broker=broker,
        broker_env=broker_env,
        broker_file=broker_file,
        workers=",".join(f"{pool}={n}" for pool, n in (workers or {}).items()),
        chunks=chunks,
        prefetch=prefetch,
        no_result=no_result,
        hosts=hosts,
        link=link,
        python=[*python, *pythons],
        memory_limit=memory_limit,
        json_path=json,
        plot_path=plot,
        html_path=html,
        markdown_path=markdown,
        csv_path=csv,
    )
    environ = {k: v for k, v in os.environ.items() if k != defaults.BROKER_ENV}
    settings = cli.settings_from_args(args, environ)  # the CLI's checks, before any work
    files = exports.from_args(args)
    try:
        run = Run(session.run(settings))
    except _Reentered as exc:
        _said_in_one_line(str(exc))
    for path, content in exports.render_all(run, files):
        exports.write_file(path, content)
    if json:
        run.save(json)
    return run


def _said_in_one_line(message: str):
    """A script's top level gets one line and exit 2, as the CLI says a usage error; a caller
    inside a function or a notebook gets a UsageError."""
    caller = sys._getframe(2)
    if caller.f_code.co_name == "<module>" and caller.f_globals.get("__name__") == "__main__":
        print(f"poolbench: error: {message}", file=sys.stderr, flush=True)
        raise SystemExit(2)
    raise UsageError(message) from None


def _spec_of(func: Callable) -> str:
    try:
        return workloads.spec_of(func)
    except workloads.WorkloadError as exc:
        raise UsageError(str(exc)) from None
