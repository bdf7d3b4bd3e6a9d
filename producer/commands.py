"""The CLI's commands, given settings that have already been checked: run, then show."""

from __future__ import annotations

import os
import sys
import tempfile

import workloads
from producer import backends, report, session
from producer.errors import EXIT_FAILED, EXIT_OK, EXIT_TIMEOUT
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
    def __init__(self, stream):
        self.stream = stream

    def __call__(self, done: int, total: int, label: str) -> None:
        width = 24
        filled = width * done // total
        self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {label:<32}")
        if done == total:
            self.stream.write("\r" + " " * (width + 48) + "\r")
        self.stream.flush()

    def status(self, message: str) -> None:
        self.stream.write(f"{message}\r")
        self.stream.flush()


def compare(settings: Settings, output: Output) -> int:
    bar = _ProgressBar(sys.stderr) if output.progress else None
    doc = session.run(settings, progress=bar, status=bar.status if bar else None)
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
