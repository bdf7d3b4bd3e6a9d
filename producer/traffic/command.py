"""Run ``poolbench load`` from the CLI: measure, print the report, write --json, --plot, --html."""

from __future__ import annotations

import json
import sys

from producer.errors import EXIT_FAILED, EXIT_OK
from producer.report import load_text as text
from producer.traffic import flags, session


def main(args, environ, *, interactive: bool) -> int:
    load, output = flags.from_args(args, environ, interactive=interactive)

    def progress(line: str) -> None:
        sys.stderr.write("\r\033[K" + line[:79])
        sys.stderr.flush()

    try:
        doc = session.run(load, progress=progress if output.progress else None)
    finally:
        if output.progress:
            sys.stderr.write("\r\033[K")
    report = text.render(doc)
    document = json.dumps(doc, indent=1) + "\n"
    files: list[tuple[str, str | bytes]] = []
    if output.json_path == "-":
        sys.stdout.write(document)
        sys.stderr.write(report)
    else:
        sys.stdout.write(report)
        if output.json_path:
            files.append((output.json_path, document))
    if output.plot_path:
        from producer.report import load_plot as plot

        files.append((output.plot_path, plot.render(doc, output.plot_path.rsplit(".", 1)[-1].lower())))
    if output.html_path:
        from producer.report import load_html as html

        files.append((output.html_path, html.render(doc)))
    for path, content in files:
        with open(path, "wb" if isinstance(content, bytes) else "w") as f:
            f.write(content)
        if output.json_path != "-":
            sys.stdout.write(f"written to {path}\n")
    verified = all(s["verified"]["ok"] for r in doc["results"] for s in r["steps"])
    return EXIT_OK if verified else EXIT_FAILED
