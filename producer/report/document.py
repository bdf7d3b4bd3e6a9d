"""The result document's types, as the exporters have always imported them.

They live in :mod:`producer.document`, below both the engine that builds the document
and the report that reads it; this module re-exports them so that every
``from producer.report.document import ...`` keeps working.
"""

from producer.document import (
    READABLE_VERSIONS,
    SCHEMA_VERSION,
    SEVERITIES,
    Document,
    Result,
    Round,
    StatsDict,
    TaskRecord,
    Verdict,
    finding,
    severity_of,
    speedup_value,
)

__all__ = [
    "READABLE_VERSIONS",
    "SCHEMA_VERSION",
    "SEVERITIES",
    "Document",
    "Result",
    "Round",
    "StatsDict",
    "TaskRecord",
    "Verdict",
    "finding",
    "severity_of",
    "speedup_value",
]
