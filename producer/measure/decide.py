"""When a comparison is decided: per-round paired ratios, their intervals, and a band.

Each measured round pairs a backend's batch with the baseline's batch of the same round,
so drift of the machine cancels in their ratio (baseline / backend: the speedup). The
ratios' 95% confidence interval then says one of four things about the backend:

- ``faster``: the whole interval lies above 1 and it is not merely equivalent;
- ``slower``: the whole interval lies below 1 and it is not merely equivalent;
- ``same``: the whole interval lies inside the band of practical equivalence
  (``1 / (1 + EQUIVALENCE)`` to ``1 + EQUIVALENCE``);
- ``unclear``: none of these; more rounds may tell.

``repeat auto`` adds rounds until no backend is ``unclear``, and the verdict decides only
on classes other than ``unclear``: a wrong answer is worse than none.
"""

from __future__ import annotations

from dataclasses import dataclass

from producer.measure.stats import ratio_interval

EQUIVALENCE = 0.10
"""Ratios within 10% of 1 are practically the same: about the noise of one round on a laptop."""
SCALES = 1.0 + EQUIVALENCE
"""A backend 'scales' when even the low end of its interval is beyond the band."""
MIN_ROUNDS = 3
"""Fewer measured rounds than this never count as decided."""


@dataclass(frozen=True)
class Comparison:
    low: float
    mid: float
    high: float
    n: int
    verdict: str
    """``faster``, ``slower``, ``same`` or ``unclear``."""

    @property
    def scales(self) -> bool:
        return self.verdict == "faster" and self.low >= SCALES

    def separated_above(self, other: Comparison) -> bool:
        """This interval lies wholly above the other's."""
        return self.low > other.high

    def as_dict(self) -> dict:
        return {"low": self.low, "mid": self.mid, "high": self.high, "n": self.n, "class": self.verdict}


def classify(low: float, high: float) -> str:
    lower, upper = 1.0 / (1.0 + EQUIVALENCE), 1.0 + EQUIVALENCE
    if lower <= low and high <= upper:
        return "same"
    if low > 1.0:
        return "faster"
    if high < 1.0:
        return "slower"
    return "unclear"


def compare(ratios: list[float]) -> Comparison | None:
    """The comparison made of per-round speedups; None with fewer than MIN_ROUNDS."""
    if len(ratios) < MIN_ROUNDS:
        return None
    interval = ratio_interval(ratios)
    if interval is None:
        return None
    low, mid, high = interval
    return Comparison(low, mid, high, len(ratios), classify(low, high))


def paired_ratios(baseline: dict[int, float], walls: dict[int, float]) -> list[float]:
    """Baseline wall / backend wall for every round both measured."""
    return [baseline[r] / walls[r] for r in sorted(walls) if r in baseline and walls[r] > 0]


def all_decided(baseline: dict[int, float], others: list[dict[int, float]]) -> bool:
    """The stopping rule of ``--repeat auto``: every backend's comparison is decided."""
    for walls in others:
        comparison = compare(paired_ratios(baseline, walls))
        if comparison is None or comparison.verdict == "unclear":
            return False
    return True
