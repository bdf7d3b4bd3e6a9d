"""The document itself, as JSON: the format every other exporter can be made from again."""

from __future__ import annotations

import json

from producer.report.document import Document


def render(doc: Document, **_options) -> str:
    return json.dumps(doc, indent=2) + "\n"
