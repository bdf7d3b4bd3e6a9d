"""The CLI's commands, given settings that have already been checked: run, then show."""

from __future__ import annotations

import os
import sys
import tempfile

import workloads
from producer import backends, exports, report, session
from producer.errors import EXIT_FAILED, EXIT_OK, EXIT_TIMEOUT, UsageError
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
    _write_exports(exports.render_all(doc, output.exports))


def _write_exports(files: list[tuple[str, str | bytes]]) -> None:
    for path, content in files:
        write_file(path, content)
        sys.stdout.write(f"written to {path}\n")


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
