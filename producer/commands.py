"""The CLI's commands, given settings that have already been checked: run, then show."""

from __future__ import annotations

import os
import sys
import tempfile

import workloads
from producer import backends, report, session
from producer.errors import EXIT_FAILED, EXIT_OK, EXIT_TIMEOUT
from producer.measure.rounds import Tick
from producer.report.document import Document
from producer.settings import Output, Settings


def list_all() -> int:
    print("workloads (--workload NAME, or pkg.module:function, or path/to/file.py:function):")
    for name in workloads.names():
        w = workloads.resolve(name)
        print(f"  {name:<10} {w.kind:<10} size {w.default_size:>9,}  {w.description}")
    print("backends (--backends a,b,...):")
    for name, entry in backends.REGISTRY.items():
        print(f"  {name:<15} {entry.description}")
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
    bar = _ProgressBar(sys.stderr, output.width) if output.progress else None
    if bar and output.notice:
        bar.status(output.notice)  # the report's first line says it again
    try:
        doc = session.run(settings, progress=bar, status=bar.status if bar else None)
    finally:
        if bar:
            bar.clear()
    emit(doc, output)
    if doc["ok"]:
        return EXIT_OK
    return EXIT_TIMEOUT if any(r["timed_out"] for r in doc["results"]) else EXIT_FAILED


def emit(doc: Document, output: Output) -> None:
    text = report.render("text", doc, wide=output.wide, width=output.width, color=output.color)
    if output.json_path == "-":
        sys.stdout.write(report.render("json", doc))
        sys.stderr.write(text)
        return
    sys.stdout.write(text)
    if output.json_path:
        write_file(output.json_path, report.render("json", doc))
        sys.stdout.write(f"results written to {output.json_path}\n")


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
