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
from array import array
from collections import Counter

UNIT_S = 1e-7
HIGHEST = 3600 * 10_000_000
"""One hour in units: longer values are recorded as one hour (``clamped``)."""
SIGNIFICANT_DIGITS = 3
EXACT = 1000
"""Quantiles are exact up to this many values; the histogram's above."""
CHUNK = 1024
"""Values wait in a buffer of at most this many before they are folded in together."""
BUCKETS = 2048
"""At most this many buckets' counts wait to be written into the histogram."""
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
    """Running statistics of one per-task figure (seconds).

    ``add`` only appends to a buffer of at most :data:`CHUNK` values (a tenth of a
    microsecond: it runs inside a batch's clock, once per task and figure); the buffer is
    folded in at once when full or read (:meth:`_settle`): its count, mean and sum of squared
    deviations are merged with the running ones (Chan et al.), and the histogram records each
    distinct bucket once, with its count."""

    def __init__(self) -> None:
        self._n = 0
        self._mean = 0.0
        self._m2 = 0.0  # sum of squared deviations from the mean
        self._min = math.inf
        self._max = -math.inf
        self._below_zero = 0
        self._clamped = 0
        self._h = None
        self._buckets: Counter = Counter()
        """Counts of the histogram's buckets not yet written into it (at most :data:`BUCKETS`)."""
        self._exact: list[float] | None = []
        self._pending = array("d")

    def add(self, value: float) -> None:
        self._pending.append(value)
        if len(self._pending) >= CHUNK:
            self._settle()

    def extend(self, values) -> Spread:
        for value in values:
            self.add(value)
        return self

    def merge(self, other: Spread) -> None:
        """Take ``other``'s values too (a batch's figures into its run's)."""
        other._settle()
        self._settle()
        if not other._n:
            return
        if other._exact is not None:
            self.extend(other._exact)
            return self._settle()
        n = self._n + other._n
        delta = other._mean - self._mean
        self._m2 += other._m2 + delta * delta * self._n * other._n / n
        self._mean += delta * other._n / n
        self._n = n
        self._min, self._max = min(self._min, other._min), max(self._max, other._max)
        self._below_zero += other._below_zero
        self._clamped += other._clamped
        other._write()
        self._histogram().add(other._h)

    def _settle(self) -> None:
        chunk = self._pending
        if not chunk:
            return
        self._pending = array("d")
        k = len(chunk)
        mean = math.fsum(chunk) / k
        m2 = math.fsum((v - mean) ** 2 for v in chunk)
        n = self._n + k
        delta = mean - self._mean
        self._m2 += m2 + delta * delta * self._n * k / n
        self._mean += delta * k / n
        self._n = n
        self._min, self._max = min(self._min, min(chunk)), max(self._max, max(chunk))
        units = [round(v / UNIT_S) for v in chunk]
        if min(units) < 0:
            self._below_zero += sum(1 for u in units if u < 0)
        if max(units) > HIGHEST:
            self._clamped += sum(1 for u in units if u > HIGHEST)
        if self._exact is not None and len(self._exact) + k <= EXACT:
            self._exact.extend(chunk)  # no histogram yet: its C extension is loaded only when needed
            return
        if self._exact is not None:
            units += [round(v / UNIT_S) for v in self._exact]
            self._exact = None
        self._record(units)

    def _record(self, units: list[int]) -> None:
        """Count values (in units) in the histogram's buckets, found by ``record_value``'s own
        arithmetic (a test holds the two to the same counts); the counts are written into the
        histogram when read, or when :data:`BUCKETS` buckets wait: a value costs a count in a
        ``Counter``, not a Python call of the histogram's."""
        if not units:
            return
        h = self._histogram()
        if min(units) < 0 or max(units) > HIGHEST:
            units = [min(HIGHEST, max(0, u)) for u in units]
        self._buckets.update(_indexes(h, units))
        h.total_count += len(units)
        h.min_value = min(h.min_value, min(units))
        h.max_value = max(h.max_value, max(units))
        if len(self._buckets) > BUCKETS:
            self._write()

    def _write(self) -> None:
        if self._buckets:
            counts = self._h.counts
            for index, count in self._buckets.items():
                counts[index] += count
            self._buckets.clear()

    def _histogram(self):
        if self._h is None:
            from hdrh.histogram import HdrHistogram

            self._h = HdrHistogram(1, HIGHEST, SIGNIFICANT_DIGITS, word_size=4)
            if self._exact is not None:
                kept, self._exact = self._exact, None
                self._record([round(v / UNIT_S) for v in kept])
        return self._h

    @property
    def n(self) -> int:
        self._settle()
        return self._n

    def quantile(self, percent: float) -> float:
        self._settle()
        if not self._n:
            raise ValueError("no values")
        if self._exact is not None:
            if len(self._exact) == 1:
                return self._exact[0]
            if percent == 50.0:
                return statistics.median(self._exact)
            cuts = statistics.quantiles(self._exact, n=100 if percent % 5 else 20, method="inclusive")
            return cuts[round(percent / (1 if percent % 5 else 5)) - 1]
        self._write()
        value = self._h.get_value_at_percentile(percent) * UNIT_S
        return min(self._max, max(self._min, value))  # the histogram's bucket edge, never beyond the data

    def as_dict(self) -> dict | None:
        """A StatsDict's fields (``values`` left out: there are too many) with ``p90`` and
        ``p99``; None when nothing was added."""
        self._settle()
        if not self._n:
            return None
        out = {"n": self._n, "mean": self._mean, "min": self._min, "max": self._max}
        out["stdev"] = math.sqrt(self._m2 / (self._n - 1)) if self._n > 1 else 0.0
        out.update({name: self.quantile(p) for name, p in QUANTILES.items()})
        out["iqr"] = out["q3"] - out["q1"]
        out["rsd"] = out["stdev"] / out["mean"] if out["mean"] else 0.0
        if self._below_zero:
            out["below_zero"] = self._below_zero
        if self._clamped:
            out["clamped"] = self._clamped
        return out


def _indexes(h, units: list[int]) -> list[int]:
    """The histogram's counts index of each value (in units, within its range), as its
    ``_counts_index_for`` finds it."""
    magnitude, half_magnitude = h.unit_magnitude, h.sub_bucket_half_count_magnitude
    top, mask, half = magnitude + half_magnitude + 1, h.sub_bucket_mask, h.sub_bucket_half_count
    first = top - 1  # bucket + 1, for its base index (bucket + 1) << half_magnitude
    return [
        ((b - first) << half_magnitude) + (u >> (b - top + magnitude)) - half
        for u in units
        for b in ((u | mask).bit_length(),)
    ]
