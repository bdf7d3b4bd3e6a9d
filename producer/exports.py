"""Files a run is written to besides the terminal: --plot, --html, --markdown, --csv.

Shared by ``compare`` and ``report``. Every path is checked before any work starts
(its folder exists and is writable; a picture ends in .png or .svg and matplotlib is
installed), and every file is rendered in memory before the first one is written.
"""

from __future__ import annotations

import os

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
