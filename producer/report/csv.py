"""The results as CSV, one row per backend, for spreadsheets and scripts.

Raw numbers (seconds, ratios) rather than the table's formatted cells, like hyperfine's
CSV export; each row repeats the workload and settings, so no number travels without them.
"""

from __future__ import annotations

import csv
import io

from producer.report import table
from producer.report.document import Document

SETTINGS = ("workload", "size", "tasks", "repeat", "warmup", "python", "gil_enabled", "cpus")


def _settings(doc: Document, result: dict) -> list[object]:
    """The run's settings; the Python is the one that ran this row's tasks where it said so."""
    w, s = doc["workload"], doc["settings"]
    m = result["python"] if (result.get("python") or {}).get("python_version") else doc["machine"]
    python = f"{m.get('python_implementation') or 'CPython'} {m.get('python_version')}"
    return [
        w["name"],
        w["size"],
        s["tasks"],
        s["repeat"],
        s["warmup"],
        python,
        m.get("gil_enabled"),
        doc["machine"].get("cpus_usable"),
    ]


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)  # every digit: a program reads this
    return value


def render(doc: Document, **_options) -> str:
    titles, rows = table.number_rows(doc)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*titles, *SETTINGS])
    for row, result in zip(rows, doc["results"], strict=True):
        writer.writerow([_cell(v) for v in [*row, *_settings(doc, result)]])
    return out.getvalue()
