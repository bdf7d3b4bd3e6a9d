"""When a comparison is decided: per-round paired ratios, their intervals, and a band.

Each measured round pairs a backend's batch with the baseline's batch of the same round,
so drift of the machine cancels in their ratio (baseline / backend: the speedup). The
ratios' 95% confidence interval then says one of four things about the backend:

- ``faster``: the whole interval lies above 1 and it is not merely equivalent;
- ``slower``: the whole interval lies below 1 and it is not merely equivalent;
- ``same``: the whole interval lies inside the band of practical equivalence
  (``1 / (1 + EQUIVALENCE)`` to ``1 + EQUIVALENCE``);
- ``unclear``: none of these; more rounds may tell.

The verdict's question is :func:`question`: does a model that shares one GIL (threads)
gain, against one that does not (processes, subinterpreters)? ``--repeat auto`` asks the
very same function after each round (:func:`enough`) and stops once it is answered for
every group and every ``via`` (or when ``--max-time`` runs out), so "undecided" means the
budget ran out; :func:`more_rounds` estimates from the intervals' widths how many more
rounds would have answered. A wrong answer is worse than none.
"""

from __future__ import annotations

import math
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


THREADS_SCALE, PARALLEL_WINS, NEITHER, OPEN = "threads-scale", "parallel-wins", "neither", "open"


MAX_AUTO_ROUNDS = 50
"""``--repeat auto`` stops here even with time left."""


def keeps_cores(mine: float | None, base: float | None) -> bool:
    """A gain made by keeping more cores busy: CPU/wall at or above ``SCALES``, and above the
    baseline's by as much. A busy machine can hand a GIL-bound thread pool a larger share of
    the CPU than the lone, starved baseline thread; it then looks faster while running
    nothing in parallel, and its CPU/wall stays at one core. Unknown (a batch too short for
    CPU ticks, workers outside this machine): not held against it."""
    if mine is None:
        return True
    return mine >= SCALES and (base is None or mine >= base * SCALES)


def settled(c: Comparison | None, cores: bool = True) -> bool:
    """Its own class is known: it scales (by keeping more cores busy), or it gains nothing."""
    return c is not None and ((c.scales and cores) or c.verdict in ("same", "slower"))


def question(
    threads: Comparison | None, parallel: Comparison | None, cores: tuple[bool, bool] = (True, True)
) -> str:
    """The verdict's question for one pair: a model that shares one GIL (``threads``) and one
    that does not (``parallel``), each against the baseline; ``cores``: whether each kept more
    cores busy than the baseline (:func:`keeps_cores`).

    - ``threads-scale``: threads scaled (its interval lies wholly at or above ``SCALES``);
    - ``parallel-wins``: the parallel model scaled, and threads gained nothing, or gained
      without keeping more cores busy (no parallel work: the GIL), or the parallel interval
      lies wholly above the threads' one (that decides the ranking even while threads' own
      class is unclear);
    - ``neither``: both gained nothing;
    - ``open``: none of these yet.
    """
    if threads is not None and threads.scales and cores[0]:
        return THREADS_SCALE
    if parallel is not None and parallel.scales and cores[1]:
        if (
            threads is None
            or threads.verdict in ("same", "slower")
            or (threads.verdict == "faster" and not cores[0])
            or parallel.separated_above(threads)
        ):
            return PARALLEL_WINS
    if (threads is None or settled(threads, cores[0])) and (parallel is None or settled(parallel, cores[1])):
        return NEITHER
    return OPEN


@dataclass(frozen=True)
class Row:
    """What the stopping rule and the verdict know of one backend: its model and its comparison."""

    name: str
    model: str
    via: str
    shares_gil: bool
    comparison: Comparison | None
    cores: bool = True
    """It kept more cores busy than the baseline, or that is unknown (:func:`keeps_cores`)."""


def best(rows: list[Row]) -> Row | None:
    """The row with the highest low end (the most surely fastest); None when none has a comparison."""
    compared = [r for r in rows if r.comparison is not None]
    return max(compared, key=lambda r: r.comparison.low) if compared else None


def pair(rows: list[Row], via: str) -> tuple[Row | None, Row | None]:
    """The GIL-sharing concurrent row (model ``threads``) and the best row whose model does
    not share a GIL, among the rows of one ``via``."""
    mine = [r for r in rows if r.via == via]
    return best([r for r in mine if r.model == "threads"]), best([r for r in mine if not r.shares_gil])


def answered(rows: list[Row]) -> bool:
    """Every ``via`` present has its question answered (``rows``: one group, baseline excluded)."""
    for via in sorted({r.via for r in rows}):
        threads, parallel = pair(rows, via)
        if threads is None and parallel is None:
            continue
        cores = (threads is None or threads.cores, parallel is None or parallel.cores)
        if question(threads and threads.comparison, parallel and parallel.comparison, cores) == OPEN:
            return False
    return True


Walls = dict[int, float]


def enough(groups: list[tuple[Walls, float | None, list[tuple[dict, Walls, float | None]]]]) -> bool:
    """The stopping rule of ``--repeat auto``: per group, the baseline's walls by round and
    its CPU/wall (None: unknown), and each other row's (declared model, walls by round,
    CPU/wall); True once every question is answered, as the verdict asks it.

    A group whose baseline batch is too short for any speedup needs no more rounds."""
    for base, base_util, others in groups:
        if base and sorted(base.values())[len(base) // 2] < TOO_SHORT_S:
            continue
        rows = [
            Row(
                info.get("name", ""),
                info.get("model", "serial"),
                info.get("via", "local"),
                info.get("shares_gil", True),
                compare(paired_ratios(base, walls)),
                keeps_cores(util, base_util),
            )
            for info, walls, util in others
        ]
        if any(r.comparison is None for r in rows):
            return False
        if not answered(rows):
            return False
    return True


MIN_CPU_BATCH_S = 0.1
"""CPU/wall is read only from batches this long (10 ms ticks; :mod:`producer.measure.results`)."""
TOO_SHORT_S = 0.005
"""Kept equal to ``results.MIN_SPEEDUP_BATCH_S``: below it no round can answer."""


def more_rounds(c: Comparison, cores: bool = True) -> int | None:
    """Rounds to add before this interval settles (:func:`settled`), from its present width.

    The interval's half-width (on the log scale) shrinks as one over the square root of
    the rounds (its centre held where it is). It settles once it lies wholly at or above
    ``SCALES`` (scales), inside the band (same) or below 1 (slower): from its centre ``c``
    the widest half-width that does so is ``max(c - L, min(L - c, c + L), -c)`` with
    ``L = log SCALES`` (without ``c - L`` when its gain kept no more cores busy: then it
    cannot settle by scaling). None when that is nil: no number of rounds can tell."""
    bound = math.log(SCALES)
    centre = math.log(c.mid)
    half = (math.log(c.high) - math.log(c.low)) / 2
    widest = max(centre - bound if cores else 0.0, min(bound - centre, centre + bound), -centre)
    if widest <= 1e-9:
        return None
    if half <= widest:
        return 0
    return max(1, math.ceil(c.n * (half / widest) ** 2) - c.n)
