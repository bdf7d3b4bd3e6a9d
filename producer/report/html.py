"""One self-contained HTML page: verdict, table, charts as inline SVG, settings and machine.

Nothing is fetched: the style is inline, the charts are SVG drawn by :mod:`plot` with
their text as paths (no font needed), and there is no script. Without matplotlib the
page says how to get the charts and shows everything else.
"""

from __future__ import annotations

import json
from html import escape

from producer.report import kinds, network, plot, table, text
from producer.report.document import Document, severity_of

STYLE = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d1d1d;
       max-width: 1180px; margin: 1.5em auto; padding: 0 1em; }
h1 { font-size: 1.5em; margin-bottom: 0.1em; }
h2 { font-size: 1.15em; margin-top: 1.8em; border-bottom: 1px solid #ddd; }
.sub { color: #555; margin: 0.15em 0; }
.verdict { background: #eef6ee; border-left: 5px solid #2f8f46; padding: 0.6em 1em; }
.verdict.undecided, .verdict.failed { background: #fdf3e6; border-left-color: #d98a00; }
.verdict p { margin: 0.3em 0; }
table { border-collapse: collapse; font-size: 0.9em; }
th, td { padding: 0.3em 0.7em; border-bottom: 1px solid #e3e3e3; text-align: left; white-space: nowrap; }
th { background: #f5f5f5; }
tr.failed td { color: #b00020; font-weight: bold; }
tr.unstable td:last-child { color: #a05a00; }
figure { margin: 1em 0; }
figure svg { max-width: 100%; height: auto; display: block; }
figcaption, .note { color: #555; font-size: 0.9em; }
dl { display: grid; grid-template-columns: max-content auto; gap: 0.15em 1em; font-size: 0.9em; }
dt { color: #555; } dd { margin: 0; font-family: ui-monospace, monospace; word-break: break-all; }
.missing { background: #fdf3e6; padding: 0.6em 1em; }
"""


def _svg(doc: Document, chart: str) -> str:
    data = plot.render(doc, image_format="svg", chart=chart).decode("utf-8")
    return data[data.index("<svg") :]  # drop the XML declaration and DOCTYPE: inline SVG


def _charts(doc: Document) -> list[str]:
    if not plot.available():
        return [
            '<p class="missing">The charts need matplotlib, which is not installed: '
            "<code>pip install 'poolbench[plot]'</code>, then <code>python -m producer report RUN.json "
            "--html FILE</code> draws them from the saved run.</p>"
        ]
    return [
        '<figure id="timeline">',
        _svg(doc, "timeline"),
        "<figcaption>Each bar is one task on the thread, process or broker's worker that ran it; the "
        "filled part is the share of its wall time spent on a CPU. Computing threads under the GIL "
        "overlap but are mostly unfilled (they take turns on the GIL); processes overlap with full "
        "bars when the cores are free; waiting tasks (sleep, I/O) overlap unfilled in any pool, "
        "as waiting needs no CPU. The hatched strip under a task sent through a broker is the time it "
        "waited in the queue.</figcaption>",
        "</figure>",
        '<figure id="speedup">',
        _svg(doc, "speedup"),
        "</figure>",
    ]


def _table(doc: Document) -> list[str]:
    titles, rows = table.rows(doc, wide=True)
    out = ["<table>", "<tr>" + "".join(f"<th>{escape(t)}</th>" for t in titles) + "</tr>"]
    for result, row in zip(doc["results"], rows, strict=True):
        warns = any(severity_of(w) == "warn" for w in result["warnings"])
        kind = "failed" if not result["ok"] else "unstable" if warns else "ok"
        out.append(f'<tr class="{kind}">' + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>")
    return [*out, "</table>"]


def _facts(title: str, facts: dict) -> list[str]:
    out = [f"<h3>{escape(title)}</h3>", "<dl>"]
    for key, value in facts.items():
        shown = value if isinstance(value, str) else json.dumps(value)
        out.append(f"<dt>{escape(str(key))}</dt><dd>{escape(shown)}</dd>")
    return [*out, "</dl>"]


def _verdict(doc: Document) -> list[str]:
    v = doc.get("verdict") or {}
    failed = not doc.get("ok", True)
    kind = "failed" if failed else "undecided" if v.get("kind") in (None, "undecided") else "ok"
    out = [f'<div class="verdict {kind}">']
    out += [f"<p>{escape(s)}</p>" for s in text.verdict_sentences(doc)]
    if v:
        out.append(f'<p class="note">kind {escape(v["kind"])}, confidence {escape(v["confidence"])}</p>')
    return [*out, "</div>"]


def _link_sweep(doc: Document) -> list[str]:
    """``sweep --link-rtt``: each series at each round trip, as the text report's table."""
    found = network.link_sweep_rows(doc)
    if not found:
        return []
    said, (titles, *rows) = found
    head = "".join(f"<th>{escape(t)}</th>" for t in titles)
    body = ["<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows]
    return [
        "<h2>Against the broker's round trip</h2>",
        f"<p>{escape(said)}</p>",
        f"<table><tr>{head}</tr>",
        *body,
        "</table>",
    ]


def render(doc: Document, **_options) -> str:
    w = doc["workload"]
    title = f"poolbench: {w['name']} (size {w['size']:,}, {kinds.word(w.get('kind'))})"
    body = [
        f"<h1>{escape(title)}</h1>",
        *[f'<p class="sub">{escape(line)}</p>' for line in text.header_lines(doc)],
        f'<p class="sub">measured {escape(doc.get("created", ""))}</p>',
        "<h2>Verdict</h2>",
        *_verdict(doc),
        "<h2>Results</h2>",
        *_table(doc),
        "<ul>",
        *[f'<li class="note">{escape(n)}</li>' for n in [text.LEGEND, *text.note_lines(doc)]],
        "</ul>",
        *_link_sweep(doc),
        "<h2>Charts</h2>",
        *_charts(doc),
        "<h2>Settings and machine</h2>",
        *_facts("workload", doc["workload"]),
        *_facts("settings", doc["settings"]),
        *_facts("machine", doc["machine"]),
        *(_facts("broker stack", doc["stack"]) if doc.get("stack") else []),
    ]
    head = (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
    )
    return head + "\n".join(body) + "\n</body>\n</html>\n"
