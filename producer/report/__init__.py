"""Everything that reads a result document: one module per output format.

Like hyperfine's ``export/``, each format is one module with a ``render(doc, **options)``
function, registered here by name and imported only when used (plots need matplotlib).
No exporter imports a backend; they read the document and nothing else.
"""

from __future__ import annotations

import importlib

from producer.errors import UsageError

EXPORTERS: dict[str, str] = {
    "text": "producer.report.text",
    "json": "producer.report.json",
    "markdown": "producer.report.markdown",
    "csv": "producer.report.csv",
    "plot": "producer.report.plot",
    "html": "producer.report.html",
}
"""Format name -> module with ``render(doc, **options) -> str | bytes``."""


def render(fmt: str, doc, **options) -> str | bytes:
    if fmt not in EXPORTERS:
        raise UsageError(f"no such output format: '{fmt}' (one of {', '.join(EXPORTERS)})")
    return importlib.import_module(EXPORTERS[fmt]).render(doc, **options)
