"""Statistics of per-task figures without keeping the figures: exact count, mean, stdev,
min and max from running sums, and quantiles from an HDR histogram.

A batch of 100,000 tasks gives 100,000 run times per round; keeping them all (as
:func:`producer.measure.stats.describe` does for the few per-round figures) grows the
producer and the document with every task. A :class:`Spread` grows with nothing: its
quantiles are read from an ``hdrhistogram`` histogram of 0.1 µs units up to one hour,
3 significant digits (any quantile within 0.1% of a recorded value). The package is
imported on first use: its C extension turns a free-threaded build's GIL back on, so
nothing imports it just to start, and a figure of at most :data:`EXACT` values never
needs it.

Up to :data:`EXACT` values the quantiles are exact (interpolated as
:func:`statistics.quantiles` does, the way the per-round statistics are); past that the
values are let go and the histogram answers.

Values below zero (a queue wait between two hosts' clocks that disagree) count in the
exact statistics and in ``below_zero``; the histogram records them as zero.
"""

from __future__ import annotations

import math
import statistics

UNIT_S = 1e-7
HIGHEST = 3600 * 10_000_000
"""One hour in units: longer values are recorded as one hour (``clamped``)."""
SIGNIFICANT_DIGITS = 3
EXACT = 1000
"""Quantiles are exact up to this many values; the histogram's above."""
QUANTILES = {"q1": 25.0, "median": 50.0, "q3": 75.0, "p90": 90.0, "p99": 99.0}
METHOD = {
    "library": "hdrhistogram",
    "unit_s": UNIT_S,
    "highest_s": HIGHEST * UNIT_S,
    "significant_digits": SIGNIFICANT_DIGITS,
    "exact": ["n", "mean", "stdev", "min", "max"],
    "exact_quantiles_up_to": EXACT,
}
"""How every per-task statistic of a version 4 document was made (``tasks.method``)."""


class Spread:
    """Running statistics of one per-task figure (seconds)."""

    def __init__(self) -> None:
        self.n = 0
        self._mean = 0.0
        self._m2 = 0.0  # Welford's sum of squared deviations
        self.min = math.inf
        self.max = -math.inf
        self.below_zero = 0
        self.clamped = 0
        self._h = None
        self._exact: list[float] | None = []

    def add(self, value: float) -> None:
        self.n += 1
        delta = value - self._mean
        self._mean += delta / self.n
        self._m2 += delta * (value - self._mean)
        self.min = min(self.min, value)
        self.max = max(self.max, value)
        units = round(value / UNIT_S)
        if units < 0:
            self.below_zero += 1
        if units > HIGHEST:
            self.clamped += 1
        if self._exact is not None:
            self._exact.append(value)
            if len(self._exact) <= EXACT:
                return  # no histogram yet: its C extension is loaded only when needed
            from hdrh.histogram import HdrHistogram

            self._h = HdrHistogram(1, HIGHEST, SIGNIFICANT_DIGITS)
            kept, self._exact = self._exact, None
            for v in kept:
                self._h.record_value(min(HIGHEST, max(0, round(v / UNIT_S))))
            return
        self._h.record_value(min(HIGHEST, max(0, units)))

    def extend(self, values) -> Spread:
        for value in values:
            self.add(value)
        return self

    def quantile(self, percent: float) -> float:
        if not self.n:
            raise ValueError("no values")
        if self._exact is not None:
            if len(self._exact) == 1:
                return self._exact[0]
            if percent == 50.0:
                return statistics.median(self._exact)
            cuts = statistics.quantiles(self._exact, n=100 if percent % 5 else 20, method="inclusive")
            return cuts[round(percent / (1 if percent % 5 else 5)) - 1]
        value = self._h.get_value_at_percentile(percent) * UNIT_S
        return min(self.max, max(self.min, value))  # the histogram's bucket edge, never beyond the data

    def as_dict(self) -> dict | None:
        """A StatsDict's fields (``values`` left out: there are too many) with ``p90`` and
        ``p99``; None when nothing was added."""
        if not self.n:
            return None
        out = {"n": self.n, "mean": self._mean, "min": self.min, "max": self.max}
        out["stdev"] = math.sqrt(self._m2 / (self.n - 1)) if self.n > 1 else 0.0
        out.update({name: self.quantile(p) for name, p in QUANTILES.items()})
        out["iqr"] = out["q3"] - out["q1"]
        out["rsd"] = out["stdev"] / out["mean"] if out["mean"] else 0.0
        if self.below_zero:
            out["below_zero"] = self.below_zero
        if self.clamped:
            out["clamped"] = self.clamped
        return out
