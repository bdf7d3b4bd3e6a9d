"""The kinds of work, in one vocabulary: the verdict's words, for old documents too.

Built-in workloads declare a kind in these words (``workloads/builtin.py``), the verdict
judges in them, and ``list``, the README, the JSON and the charts say them. Documents saved
before this vocabulary said ``cpu``, ``cpu-nogil``, ``io`` or ``user``; they read as below.
"""

from __future__ import annotations

OLD_WORDS = {"cpu": "cpu-bound", "cpu-nogil": "gil-releasing", "io": "io-bound", "user": "unknown"}
"""A saved document's older word -> the verdict's word."""


def word(kind: str | None) -> str:
    """A workload's kind in the verdict's words; ``unknown`` for one the verdict has yet to judge."""
    return OLD_WORDS.get(kind or "unknown", kind or "unknown")
