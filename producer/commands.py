"""The CLI's commands, given settings that have already been checked: run, then show."""

from __future__ import annotations

import os
import sys
import tempfile

import workloads
from producer import backends, exports, report, session
from producer.errors import EXIT_FAILED, EXIT_OK, EXIT_TIMEOUT, UsageError
from producer.measure.rounds import Tick
from producer.report.document import Document
from producer.services import folders
from producer.settings import Output, Settings


def list_all() -> int:
    print("workloads (--workload NAME, or pkg.module:function, or path/to/file.py:function):")
    for name in workloads.names():
        w = workloads.resolve(name)
        print(f"  {name:<10} {w.kind:<10} size {w.default_size:>9,}  {w.description}")
    from producer.services.environ import Interpreter

    here = Interpreter.current(backends.NEEDS)
    missing = {backends.INTERPRETER_POOL: here.no_interpreter_pool}
    print("backends (--backends a,b,...):")
    for name, entry in backends.REGISTRY.items():
        if not entry.for_tests and not missing.get(entry.requires):
            print(f"  {name:<17} {entry.description}")
    unavailable = [(n, e) for n, e in backends.REGISTRY.items() if missing.get(e.requires)]
    if unavailable:
        print(
            f"not available on this Python ({here.version}); run them under one that has them, --python PATH:"
        )
        for name, entry in unavailable:
            print(f"  {name:<17} {missing[entry.requires]}")
    print("for tests (never measured by default):")
    for name, entry in backends.REGISTRY.items():
        if entry.for_tests:
            print(f"  {name:<17} {entry.description}")
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
    text = report.render("text", doc, wide=output.wide, width=output.width, color=output.color)
    if output.json_path == "-":
        sys.stdout.write(report.render("json", doc))
        sys.stderr.write(text)
        _write_exports(files, sys.stderr)
        sys.stdout.flush()
        return
    sys.stdout.write(text)
    if output.json_path:
        write_file(output.json_path, report.render("json", doc))
        sys.stdout.write(f"results written to {output.json_path}\n")
    _write_exports(files, sys.stdout)
    sys.stdout.flush()


def _write_exports(files: list[tuple[str, str | bytes]], said=None) -> None:
    for path, content in files:
        write_file(path, content)
        (said or sys.stdout).write(f"written to {path}\n")


RENDER_ERRORS = (KeyError, TypeError, ValueError, AttributeError, IndexError)
"""What a hand-edited or truncated document makes an exporter raise."""


def report_saved(path: str, output: Output) -> int:
    """Re-render a saved run: the text report on stdout, and the files asked for."""
    from producer.report import saved

    doc = saved.load(path)
    try:
        text = report.render("text", doc, wide=output.wide, width=output.width, color=output.color)
        files = exports.render_all(doc, output.exports)
    except RENDER_ERRORS as exc:
        raise UsageError(f"'{path}' is not a poolbench result document: cannot render it ({exc!r})") from None
    sys.stdout.write(text)
    _write_exports(files)
    return EXIT_OK


def diff(a_path: str, b_path: str, force: bool = False) -> int:
    """Compare two saved runs backend by backend."""
    from producer.report import diff as diffing
    from producer.report import saved

    a, b = saved.load(a_path), saved.load(b_path)
    try:
        text = diffing.render(diffing.compare(a, b, a_path, b_path, force=force))
    except RENDER_ERRORS as exc:
        raise UsageError(f"cannot compare '{a_path}' with '{b_path}': malformed result ({exc!r})") from None
    sys.stdout.write(text)
    return EXIT_OK


def write_file(path: str, content: str | bytes) -> None:
    """Write whole or not at all (a temporary file renamed), with the usual permissions."""
    folder = os.path.dirname(os.path.abspath(path))
    mode = "wb" if isinstance(content, bytes) else "w"
    with tempfile.NamedTemporaryFile(mode, dir=folder, delete=False, suffix=".tmp") as f:
        f.write(content)
    umask = os.umask(0o022)
    os.umask(umask)
    os.chmod(f.name, 0o666 & ~umask)  # as open() would; the temporary file was private
    os.replace(f.name, path)


def convoy(settings, output) -> int:
    """``convoy``: measure, print the report, write --json and --plot; SIGTERM stops it like Ctrl-C."""
    import json
    import signal

    from producer.convoy import measure, text

    def progress(number: int, rounds: int, condition: str) -> None:
        sys.stderr.write(f"\rround {number}/{rounds}: {condition:<10}")
        sys.stderr.flush()

    def terminated(*_):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, terminated)
    try:
        doc = measure.run(settings, progress=progress if output.progress else None)
    finally:
        signal.signal(signal.SIGTERM, previous)
        if output.progress:
            sys.stderr.write("\r" + " " * 30 + "\r")
    files: list[tuple[str, str | bytes]] = []
    if output.plot_path:
        from producer.convoy import plot

        files.append((output.plot_path, plot.render(doc, output.plot_format)))
    document = json.dumps(doc, indent=1) + "\n"
    report_text = text.render(doc, width=output.width)
    if output.json_path == "-":
        sys.stdout.write(document)
        sys.stderr.write(report_text)
    else:
        sys.stdout.write(report_text)
        if output.json_path:
            files.insert(0, (output.json_path, document))
    for path, content in files:
        write_file(path, content)
        if output.json_path != "-":
            sys.stdout.write(f"written to {path}\n")
    return EXIT_OK
