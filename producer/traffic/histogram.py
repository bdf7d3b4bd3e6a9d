"""Latencies in an HDR histogram (the ``hdrhistogram`` package, HdrHistogram's Python port).

Values are recorded in microseconds from 1 µs to 1 hour with 3 significant digits: any
percentile read back is within 0.1% of a recorded value (PRECISION). Longer latencies
are clamped to the top and counted in ``clamped``.
"""

from __future__ import annotations

UNIT_S = 1e-6
LOWEST_US = 1
HIGHEST_US = 3600 * 1_000_000
SIGNIFICANT_DIGITS = 3
PRECISION = {
    "library": "hdrhistogram",
    "unit_s": UNIT_S,
    "lowest_s": LOWEST_US * UNIT_S,
    "highest_s": HIGHEST_US * UNIT_S,
    "significant_digits": SIGNIFICANT_DIGITS,
    "relative_error": 10.0**-SIGNIFICANT_DIGITS,
}
PERCENTILES = {"p50": 50.0, "p90": 90.0, "p99": 99.0, "p999": 99.9}


class Latencies:
    def __init__(self) -> None:
        # Imported here, when `load` measures: its C extension (pyhdrh) turns a free-threaded
        # build's GIL back on, so the CLI and the worker must not load it just to start.
        from hdrh.histogram import HdrHistogram

        self._h = HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS)
        self.clamped = 0

    def record(self, seconds: float) -> None:
        value = round(seconds / UNIT_S)
        if value > HIGHEST_US:
            self.clamped += 1
        self._h.record_value(min(HIGHEST_US, max(LOWEST_US, value)))

    @property
    def count(self) -> int:
        return self._h.get_total_count()

    def percentile(self, p: float) -> float | None:
        return self._h.get_value_at_percentile(p) * UNIT_S if self.count else None

    def summary(self) -> dict:
        """``{p50, p90, p99, p999, max}`` in seconds (None when empty), and ``count``."""
        out = {name: self.percentile(p) for name, p in PERCENTILES.items()}
        out["max"] = self._h.get_max_value() * UNIT_S if self.count else None
        out["count"] = self.count
        if self.clamped:
            out["clamped"] = self.clamped
        return out


def of(values) -> Latencies:
    h = Latencies()
    for value in values:
        h.record(value)
    return h
