"""Colours of the charts: one per execution model and place, the same in every chart.

A backend's colour follows what it declared (its ``model`` and ``via``), never its name, so
a new backend is drawn in the colour of its model. Thread-like models are warm (orange,
red), process-like ones cool (blue, teal); through a broker each model has a darker twin.
"""

from __future__ import annotations

from collections.abc import Mapping

from producer.report.declared import model_of, via_of

COLORS = {
    ("local", "serial"): "#6b6b6b",
    ("local", "threads"): "#e07b00",
    ("local", "processes"): "#1f6fb4",
    ("local", "interpreters"): "#3b9ab2",
    ("local", "greenlets"): "#8fb339",
    ("broker", "processes"): "#2a9d8f",
    ("broker", "threads"): "#c8553d",
    ("broker", "serial"): "#7a5195",
    ("broker", "greenlets"): "#5a8f29",
    ("broker", "interpreters"): "#17657a",
}
OTHER_COLORS = ("#8c564b", "#bc5090", "#17becf", "#bcbd22")
QUEUE_COLOR = "#9a9a9a"
FAILED_COLOR = "#d00000"


def color_of(result: Mapping, position: int) -> str:
    """By the result's declared model and where it ran (``position``: for anything else)."""
    return COLORS.get((via_of(result), model_of(result))) or OTHER_COLORS[position % len(OTHER_COLORS)]
