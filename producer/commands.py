"""The CLI's commands, given settings that have already been checked: run, then show."""

from __future__ import annotations

import sys
import textwrap

import workloads
from producer import backends, exports, report, session
from producer.errors import EXIT_FAILED, EXIT_OK, EXIT_TIMEOUT, UsageError
from producer.measure.rounds import Tick
from producer.report.document import Document
from producer.services import folders
from producer.settings import Output, Settings


def _listed(cells: str, text: str, width: int = 80) -> None:
    """One entry: its columns, then its description wrapped under them to ``width``."""
    indent = " " * len(cells)
    print("\n".join(textwrap.wrap(text, width - 1, initial_indent=cells, subsequent_indent=indent)))


def list_all() -> int:
    print("workloads (--workload NAME; or pkg.module:function, or file.py:function):")
    print(f"  {'name':<10} {'kind':<13} {'size':>9}  what it does")
    for name in workloads.names():
        w = workloads.resolve(name)
        _listed(f"  {name:<10} {w.kind:<13} {w.default_size:>9,}  ", w.description)
    from producer.services.environ import Interpreter

    here = Interpreter.current(backends.NEEDS)
    missing = {backends.INTERPRETER_POOL: here.no_interpreter_pool}
    print("backends (--backends LIST); model: how each runs the calls, via: where:")
    print(f"  {'name':<17} {'model':<12} {'via':<6}  what it is")
    for name, entry in backends.REGISTRY.items():
        if not entry.for_tests and not missing.get(entry.requires):
            _listed(f"  {name:<17} {entry.model:<12} {entry.via:<6}  ", entry.description)
    unavailable = [(n, e) for n, e in backends.REGISTRY.items() if missing.get(e.requires)]
    if unavailable:
        print(f"not available on Python {here.version} (run them under another: --python PATH):")
        for name, entry in unavailable:
            _listed(f"  {name:<17} {entry.model:<12} {entry.via:<6}  ", missing[entry.requires])
    print("for tests (never measured by default):")
    for name, entry in backends.REGISTRY.items():
        if entry.for_tests:
            _listed(f"  {name:<17} {entry.model:<12} {entry.via:<6}  ", entry.description)
    sys.stdout.flush()  # a closed pipe (`| head -2`) is noticed here, inside main(), not at exit
    return EXIT_OK


class _ProgressBar:
    """One line on stderr, redrawn as each task's result arrives: where, how far, how long."""

    def __init__(self, stream, width: int):
        self.stream = stream
        self.width = max(40, width - 1)

    def __call__(self, tick: Tick) -> None:
        bar = 12
        filled = bar * tick.task // max(1, tick.tasks)
        eta = "" if tick.eta_s is None else f"  ETA {tick.eta_s:.0f} s"
        line = (
            f"[{'#' * filled}{'.' * (bar - filled)}] {tick.backend} {tick.label}: task "
            f"{tick.task}/{tick.tasks}"
            f"  {tick.elapsed_s:.0f} s{eta}"
        )
        self.stream.write("\r" + line[: self.width].ljust(self.width))
        self.stream.flush()

    def status(self, message: str) -> None:
        self.stream.write("\r" + message[: self.width].ljust(self.width))
        self.stream.flush()

    def clear(self) -> None:
        self.stream.write("\r" + " " * self.width + "\r")
        self.stream.flush()


def compare(settings: Settings, output: Output) -> int:
    return _measure(lambda **shown: session.run(settings, **shown), output)


def sweep(settings: Settings, concurrencies: list[int], workers: list[int], output: Output) -> int:
    from producer import sweep as sweeping

    plan = sweeping.plan(settings, concurrencies, workers)
    return _measure(lambda **shown: session.run_plan(plan, **shown), output)


def _measure(run, output: Output) -> int:
    """Run a measurement with its progress line, show the document, and say how it ended."""
    folders.remove_abandoned(folders.STACK_PREFIX)  # left by runs killed with SIGKILL
    bar = _ProgressBar(sys.stderr, output.width) if output.progress else None
    if bar and output.notice:
        bar.status(output.notice)  # the report's first line says it again
    try:
        doc = run(progress=bar, status=bar.status if bar else None)
    finally:
        if bar:
            bar.clear()
    emit(doc, output)
    if doc["ok"]:
        return EXIT_OK
    return stopped_by(doc)


def stopped_by(doc: Document) -> int:
    """A failed run's exit code: the error that stopped a backend (a lost broker first), said in one line."""
    stopped = [r for r in doc["results"] if r.get("exit_code")]
    if not stopped:
        return EXIT_TIMEOUT if any(r["timed_out"] for r in doc["results"]) else EXIT_FAILED
    first = min(stopped, key=lambda r: r["exit_code"] == EXIT_TIMEOUT)  # 3 (broker) before 5
    sys.stderr.write(f"poolbench: error: {first['problems'][-1]}\n")
    return first["exit_code"]


def emit(doc: Document, output: Output) -> None:
    """The text report, then the files asked for; every file is rendered before the first is written."""
    files = exports.render_all(doc, output.exports)
    text = report.render(
        "text", doc, wide=output.wide, width=output.width, color=output.color, verbose=output.verbose
    )
    exports.deliver(text, output.json_path, lambda: report.render("json", doc), files)


RENDER_ERRORS = (KeyError, TypeError, ValueError, AttributeError, IndexError)
"""What a hand-edited or truncated document makes an exporter raise."""


def report_saved(path: str, output: Output) -> int:
    """Re-render a saved run: the text report on stdout, and the files asked for."""
    from producer.report import saved

    doc = saved.load(path)
    if doc.get("kind") == "load":  # issue 18: a load document (producer/traffic/saved.py)
        from producer.traffic import saved as load_saved

        return load_saved.report(doc, path, output)
    try:
        text = report.render(
            "text", doc, wide=output.wide, width=output.width, color=output.color, verbose=output.verbose
        )
        files = exports.render_all(doc, output.exports)
    except RENDER_ERRORS as exc:
        raise UsageError(f"'{path}' is not a poolbench result document: cannot render it ({exc!r})") from None
    exports.deliver(text, None, None, files)
    return EXIT_OK


def diff(a_path: str, b_path: str, force: bool = False) -> int:
    """Compare two saved runs backend by backend."""
    from producer.report import diff as diffing
    from producer.report import saved

    a, b = saved.load(a_path), saved.load(b_path)
    if "load" in (a.get("kind"), b.get("kind")):  # issue 18: load documents (producer/traffic/saved.py)
        from producer.traffic import saved as load_saved

        return load_saved.diff(a, b, a_path, b_path)
    try:
        text = diffing.render(diffing.compare(a, b, a_path, b_path, force=force))
    except RENDER_ERRORS as exc:
        raise UsageError(f"cannot compare '{a_path}' with '{b_path}': malformed result ({exc!r})") from None
    sys.stdout.write(text)
    return EXIT_OK
