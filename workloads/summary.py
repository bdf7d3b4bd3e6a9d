"""Small, deterministic summaries of workload output.

A summary travels back from threads, child processes and Celery workers as JSON,
so it must be small and must compare equal wherever the same work was done.
"""

from __future__ import annotations

import hashlib
import json
from array import array


def summarize_items(items) -> dict:
    """Count and checksum a sequence, cheaply when it holds machine-size integers."""
    items = list(items) if not isinstance(items, list) else items
    try:
        data = array("q", items).tobytes()
    except (TypeError, OverflowError):
        data = repr(items).encode()
    return {"count": len(items), "checksum": hashlib.sha256(data).hexdigest()[:16]}


def summarize_value(value) -> dict:
    """Turn whatever a user function returned into a JSON-serialisable summary."""
    if value is None:
        return {"count": 0, "checksum": None}
    if isinstance(value, dict):
        json.dumps(value)  # fail here, in the task, rather than in the transport
        return value
    if isinstance(value, (list, tuple, bytes, bytearray)):
        return summarize_items(list(value))
    if isinstance(value, (bool, int, float, str)):
        return {"value": value}
    return {"count": 1, "checksum": hashlib.sha256(repr(value).encode()).hexdigest()[:16]}
