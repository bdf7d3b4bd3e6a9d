"""Colours of the charts: one per backend, the same in the timeline and the speedup chart.

Thread-like backends are warm (orange, red), process-like ones cool (blue, teal).
"""

from __future__ import annotations

COLORS = {
    "sequential": "#6b6b6b",
    "threads": "#e07b00",
    "processes": "#1f6fb4",
    "celery-prefork": "#2a9d8f",
    "celery-threads": "#c8553d",
    "celery-solo": "#7a5195",
    "celery-gevent": "#5a8f29",
    "interpreters": "#3b9ab2",
}
OTHER_COLORS = ("#8c564b", "#bc5090", "#17becf", "#bcbd22")
QUEUE_COLOR = "#9a9a9a"
FAILED_COLOR = "#d00000"


def color_of(backend: str, position: int) -> str:
    """By the backend's name, whatever follows it (``threads [3.13.5t]``, ``threads c=2``)."""
    return COLORS.get(backend.split(" ", 1)[0]) or OTHER_COLORS[position % len(OTHER_COLORS)]
