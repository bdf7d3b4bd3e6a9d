"""``load``'s HTML report: the text report, both pictures inline (SVG), nothing fetched."""

from __future__ import annotations

import html

from producer.report import load_plot as plot
from producer.report import load_text as text


def render(doc: dict) -> str:
    svg = plot.render(doc, "svg").decode()
    svg = svg[svg.find("<svg") :]
    s = doc["settings"]
    title = f"poolbench load: {s['workload']}, C={s['concurrency']}"
    return (
        "<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;margin:2em;max-width:1300px}"
        "pre{background:#f6f6f6;padding:1em;font-size:13px;overflow-x:auto}"
        "figure{margin:0}figure svg{max-width:100%;height:auto}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>"
        "<h2>Latency against throughput, and queue depth over one step</h2>"
        f"<figure>{svg}</figure>"
        "<h2>Figures</h2>"
        f"<pre>{html.escape(text.render(doc))}</pre>"
        "</body></html>\n"
    )
