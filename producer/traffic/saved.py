"""``report`` and ``diff`` of saved ``load`` documents (the hooks in producer/commands.py).

``report LOAD.json`` prints the same text ``load`` printed, and writes ``--plot`` and
``--html`` as ``load`` does; ``--markdown`` and ``--csv`` are compare's tables and are
refused in one line. ``diff A.json B.json`` of two load documents compares capacity and
p99 (:mod:`producer.report.load_diff`); a load document against a compare one is refused.
"""

from __future__ import annotations

import sys

from producer import exports
from producer.errors import EXIT_OK, UsageError
from producer.report import load_diff, load_document, load_text

PICTURES = ("plot", "html")


def report(doc: dict, path: str, output) -> int:
    files = []
    for name, _path, _options in output.exports:
        if name not in PICTURES:
            raise UsageError(
                f"'{path}' is a load document: report writes --plot and --html for it, not --{name}"
            )
    for name, out_path, _options in output.exports:
        if name == "plot":
            from producer.report import load_plot

            files.append((out_path, load_plot.render(doc, out_path.rsplit(".", 1)[-1].lower())))
        else:
            from producer.report import load_html

            files.append((out_path, load_html.render(doc)))
    exports.deliver(load_text.render(doc, width=max(output.width, 80)), None, None, files)
    return EXIT_OK


def diff(a: dict, b: dict, a_path: str, b_path: str) -> int:
    kinds = [load_document.is_load(doc) for doc in (a, b)]
    if kinds != [True, True]:
        load_path, other = (a_path, b_path) if kinds[0] else (b_path, a_path)
        raise UsageError(
            f"'{load_path}' is a load document and '{other}' is not: diff compares two of one kind"
        )
    sys.stdout.write(load_diff.render(a, b, a_path, b_path))
    return EXIT_OK
