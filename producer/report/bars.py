"""Error bars for matplotlib: distances below and above each point, never negative.

A point computed one way and its range another can cross by a rounding: the geometric
mean of one round is exp(log(v)), which may sit 1e-16 outside [v, v], and matplotlib
refuses a negative distance (``'yerr' must not contain negative values``), which made
``report --html`` fail on a one-round document.
"""

from __future__ import annotations


def spread(points, lows, highs) -> list[list[float]]:
    """``[[below...], [above...]]`` for ``errorbar(yerr=...)``: a missing bound is no bar."""
    below = [max(0.0, p - (low if low is not None else p)) for p, low in zip(points, lows, strict=True)]
    above = [max(0.0, (high if high is not None else p) - p) for p, high in zip(points, highs, strict=True)]
    return [below, above]
