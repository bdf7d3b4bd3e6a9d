"""Summary statistics for repeated measurements, and a Welch t-test.

Medians and IQRs because timing noise is one-sided (a batch is never faster than
the machine allows, often slower); Welch because two backends may end up with
different numbers of rounds (one may fail part-way) and different variances.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass

UNSTABLE_RSD = 0.10
"""pyperf's threshold: a standard deviation of 10% of the mean or more is flagged."""


@dataclass(frozen=True)
class Stats:
    n: int
    median: float
    mean: float
    min: float
    max: float
    stdev: float
    q1: float
    q3: float
    values: tuple[float, ...]

    @property
    def iqr(self) -> float:
        return self.q3 - self.q1

    @property
    def rsd(self) -> float:
        """Relative standard deviation (stdev / mean)."""
        return self.stdev / self.mean if self.mean else 0.0

    @property
    def unstable(self) -> bool:
        return self.n > 1 and self.rsd >= UNSTABLE_RSD

    def as_dict(self) -> dict:
        data = asdict(self)
        data.update(values=list(self.values), iqr=self.iqr, rsd=self.rsd)
        return data


def describe(values) -> Stats:
    values = tuple(float(v) for v in values)
    if not values:
        raise ValueError("no values to describe")
    if len(values) > 1:
        q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
        stdev = statistics.stdev(values)
    else:
        q1 = q3 = values[0]
        stdev = 0.0
    return Stats(
        n=len(values),
        median=statistics.median(values),
        mean=statistics.fmean(values),
        min=min(values),
        max=max(values),
        stdev=stdev,
        q1=q1,
        q3=q3,
        values=values,
    )


def welch_p(a, b) -> float | None:
    """Two-sided p-value of Welch's t-test for equal means; None with too few values."""
    if len(a) < 2 or len(b) < 2:
        return None
    va, vb = statistics.variance(a) / len(a), statistics.variance(b) / len(b)
    if va + vb == 0:
        return 1.0 if statistics.fmean(a) == statistics.fmean(b) else 0.0
    t = (statistics.fmean(a) - statistics.fmean(b)) / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    return _betainc(df / 2, 0.5, df / (df + t * t))


def _betainc(a: float, b: float, x: float) -> float:
    """Regularised incomplete beta function I_x(a, b) (Numerical Recipes' continued fraction)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x > (a + 1) / (a + b + 2):
        return 1.0 - _betainc(b, a, 1.0 - x)
    f, c, d = 1.0, 1.0, 0.0
    for i in range(400):
        m = i // 2
        if i == 0:
            num = 1.0
        elif i % 2 == 0:
            num = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
        else:
            num = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
        d = 1.0 + num * d
        d = 1.0 / (d if abs(d) > 1e-300 else 1e-300)
        c = 1.0 + num / (c if abs(c) > 1e-300 else 1e-300)
        f *= c * d
        if abs(1.0 - c * d) < 1e-12:
            break
    return front * (f - 1.0) / a


T_975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228)
T_975 += (2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086)
T_975 += (2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)
"""Student's t quantile for a two-sided 95% interval, by degrees of freedom 1 to 30."""


def t_975(df: int) -> float:
    return T_975[df - 1] if df <= len(T_975) else 1.96 + 2.4 / df  # close to the exact value past 30


def ratio_interval(ratios) -> tuple[float, float, float] | None:
    """Geometric mean of ratios with its 95% confidence interval (a t-interval on their logs).

    Ratios of times are skewed (2x faster is 0.5, 2x slower is 2.0); their logarithms are
    symmetric, so the interval is made there and brought back. None with fewer than 2.
    """
    logs = [math.log(r) for r in ratios if r > 0]
    if len(logs) < 2:
        return None
    mean = statistics.fmean(logs)
    half = t_975(len(logs) - 1) * statistics.stdev(logs) / math.sqrt(len(logs))
    return math.exp(mean - half), math.exp(mean), math.exp(mean + half)


OUTLIER_Z = 3.5
"""Modified Z-score beyond which a value is an outlier (Iglewicz and Hoaglin; hyperfine's rule)."""


def outliers(values) -> list[int]:
    """Indexes of outliers by the modified Z-score; reported, never dropped."""
    values = list(values)
    if len(values) < 3:
        return []
    median = statistics.median(values)
    mad = statistics.median(abs(v - median) for v in values)
    if mad == 0:
        return []
    return [i for i, v in enumerate(values) if abs(0.6745 * (v - median) / mad) > OUTLIER_Z]
