"""The report as Markdown: the settings, the table with every column, the notes, the verdict.

The same rows as the terminal table (``table.rows``), as a GitHub-flavoured table that
reads well pasted into an issue or a pull request.
"""

from __future__ import annotations

from producer.report import network, table, text
from producer.report.document import Document


def _escape(cell: str) -> str:
    return cell.replace("|", "\\|")


def _grid(titles, rows) -> list[str]:
    lines = ["| " + " | ".join(map(_escape, titles)) + " |", "|" + "---|" * len(titles)]
    return lines + ["| " + " | ".join(map(_escape, row)) + " |" for row in rows]


def table_lines(doc: Document) -> list[str]:
    return _grid(*table.rows(doc, wide=True))


def _link_sweep(doc: Document) -> list[str]:
    """``sweep --link-rtt``: each series at each round trip, as the text report's table."""
    found = network.link_sweep_rows(doc)
    if not found:
        return []
    said, (titles, *rows) = found
    return ["", said, "", *_grid(titles, rows)]


def render(doc: Document, **_options) -> str:
    w = doc["workload"]
    out = [f"## poolbench: {w['name']} (size {w['size']:,})", ""]
    out += [f"- {_escape(line)}" for line in text.header_lines(doc)]
    out += ["", *table_lines(doc), ""]
    out += [f"- {_escape(note)}" for note in [text.LEGEND, *text.note_lines(doc)]]
    out += _link_sweep(doc)
    said = text.verdict_sentences(doc)
    if said:
        out += ["", "**Verdict.** " + " ".join(said)]
    return "\n".join(out) + "\n"
