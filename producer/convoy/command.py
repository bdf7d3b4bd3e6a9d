"""``poolbench convoy``: measure, print the report, write --json and --plot.

The command's stops are everyone's: the CLI's :func:`producer.stops.handled` turns SIGINT,
SIGTERM and SIGHUP into :class:`~producer.errors.Interrupted`, which unwinds the echo
server, its client and the load as Ctrl-C does, and exits 128 + the signal (143 for
SIGTERM). Its report, JSON and picture take compare's path (:func:`producer.exports.deliver`):
every file rendered before the first is written, each written whole or not at all.
"""

from __future__ import annotations

import json
import sys

from producer.convoy import measure, text
from producer.convoy.flags import ConvoyOutput
from producer.convoy.measure import ConvoySettings
from producer.errors import EXIT_OK
from producer.exports import deliver


def run(settings: ConvoySettings, output: ConvoyOutput) -> int:
    def progress(number: int, rounds: int, condition: str) -> None:
        sys.stderr.write(f"\rround {number}/{rounds}: {condition:<10}")
        sys.stderr.flush()

    try:
        doc = measure.run(settings, progress=progress if output.progress else None)
    finally:
        if output.progress:
            sys.stderr.write("\r" + " " * 30 + "\r")
    files: list[tuple[str, str | bytes]] = []
    if output.plot_path:
        from producer.convoy import plot

        files.append((output.plot_path, plot.render(doc, output.plot_format)))
    report_text = text.render(doc, width=output.width)
    deliver(report_text, output.json_path, lambda: json.dumps(doc, indent=1) + "\n", files)
    return EXIT_OK
