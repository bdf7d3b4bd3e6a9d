"""Small, deterministic summaries of workload output.

A summary travels back from threads, child processes and Celery workers as JSON,
so it must be small and must compare equal wherever the same work was done. It is
computed inside the task, so it must not change the task's character either: a
summary that released the GIL (hashing megabytes with hashlib does) would add
parallel work to a workload that has none, and a slow one would dilute it.
"""

from __future__ import annotations

import hashlib
import json


class NotSerialisable(TypeError):
    """Raised when a workload's result cannot travel as JSON."""


def summarize_items(items) -> dict:
    """Count and checksum a sequence; for integers with ``sum``, a C loop that holds the GIL."""
    items = items if isinstance(items, list) else list(items)
    try:
        total = sum(items)
        if not isinstance(total, int):
            raise TypeError("not integers")
        key = f"{len(items)}:{total}:{items[0] if items else ''}:{items[-1] if items else ''}"
    except TypeError:
        key = repr(items)
    return {"count": len(items), "checksum": hashlib.sha256(key.encode()).hexdigest()[:16]}


def summarize_value(value) -> dict:
    """Turn whatever a user function returned into a JSON-serialisable summary."""
    if value is None:
        return {"count": 0, "checksum": None}
    if isinstance(value, dict):
        try:
            json.dumps(value)  # fail here, in the task, rather than in the transport
        except (TypeError, ValueError) as exc:
            raise NotSerialisable(f"the workload's result cannot travel as JSON: {exc}") from None
        return value
    if isinstance(value, (list, tuple, bytes, bytearray)):
        return summarize_items(list(value))
    if isinstance(value, (bool, int, float, str)):
        return {"value": value}
    return {"count": 1, "checksum": hashlib.sha256(repr(value).encode()).hexdigest()[:16]}
