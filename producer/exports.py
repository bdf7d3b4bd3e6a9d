"""Files a run is written to besides the terminal: --plot, --html, --markdown, --csv.

Shared by ``compare``, ``report`` and ``convoy``. Every path is checked before any work starts
(its folder exists and is writable; a picture ends in .png or .svg and matplotlib is
installed), and every file is rendered in memory before the first one is written.
"""

from __future__ import annotations

import os
import sys
import tempfile

from producer import report
from producer.errors import UsageError
from producer.report import plot

FLAGS = {
    "plot": ("--plot", "FILE.png|.svg", "draw the timeline and speedup chart (needs matplotlib)"),
    "html": ("--html", "FILE", "write one self-contained HTML report (charts need matplotlib)"),
    "markdown": ("--markdown", "FILE", "write the report as Markdown"),
    "csv": ("--csv", "FILE", "write one CSV row of raw numbers per backend"),
}
"""Exporter name -> (flag, metavar, help)."""

Export = tuple[str, str, dict]
"""(exporter name, path, render options)."""


def add_flags(parser) -> None:
    for name, (flag, metavar, help_text) in FLAGS.items():
        parser.add_argument(flag, dest=f"{name}_path", metavar=metavar, help=help_text)


def check_writable(flag: str, path: str) -> None:
    """UsageError unless ``path`` can be created or replaced."""
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path) or not os.path.isdir(folder) or not os.access(folder, os.W_OK):
        raise UsageError(f"cannot write {flag} file '{path}': its folder does not exist or is not writable")
    if os.path.exists(path) and not os.access(path, os.W_OK):
        raise UsageError(f"cannot write {flag} file '{path}': permission denied")


def from_args(args) -> tuple[Export, ...]:
    """The checked exports the flags ask for, in a fixed order."""
    exports = []
    for name, (flag, _, _) in FLAGS.items():
        path = getattr(args, f"{name}_path", None)
        if path is None:
            continue
        if path in ("", "-"):
            raise UsageError(f"{flag} writes a file; give its path (only --json writes to stdout, with '-')")
        options: dict = {}
        if name == "plot":
            suffix = os.path.splitext(path)[1].lower().lstrip(".")
            if suffix not in plot.FORMATS:
                raise UsageError(f"--plot draws .png or .svg files, not '{path}'")
            plot.require("--plot")
            options["image_format"] = suffix
        check_writable(flag, path)
        exports.append((name, path, options))
    return tuple(exports)


def render_all(doc, exports: tuple[Export, ...]) -> list[tuple[str, str | bytes]]:
    """(path, content) of every export, rendered before anything is written."""
    return [(path, report.render(name, doc, **options)) for name, path, options in exports]


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


def deliver(text: str, json_path: str | None, document, files: list[tuple[str, str | bytes]]) -> None:
    """The one output path of every command that measures: the report, the JSON, the files.

    ``document()`` renders the JSON (only when --json asks for it). With ``--json -`` the
    document goes to stdout and everything said to a person to stderr; otherwise the
    report goes to stdout, and each file written says so there.
    """
    said = sys.stderr if json_path == "-" else sys.stdout
    if json_path == "-":
        sys.stdout.write(document())
    said.write(text)
    if json_path and json_path != "-":
        write_file(json_path, document())
        said.write(f"results written to {json_path}\n")
    for path, content in files:
        write_file(path, content)
        said.write(f"written to {path}\n")
    sys.stdout.flush()
