"""When each task of a step is meant to be sent: a Poisson or a uniform arrival process.

Offsets are seconds from the step's start, drawn from a seeded generator of the
standard library, so the same ``--seed`` gives the same schedule on any machine.
"""

from __future__ import annotations

import random

KINDS = ("poisson", "uniform")


def schedule(rate: float, duration: float, kind: str, seed: int) -> list[float]:
    """Intended send offsets in [0, duration): exponential gaps (poisson) or equal gaps (uniform)."""
    if rate <= 0 or duration <= 0:
        raise ValueError(f"rate and duration must be positive, not {rate}, {duration}")
    if kind == "uniform":
        count = int(rate * duration)
        return [i / rate for i in range(count)]
    if kind != "poisson":
        raise ValueError(f"arrivals are one of {KINDS}, not {kind!r}")
    draw = random.Random(seed)
    offsets, at = [], draw.expovariate(rate)
    while at < duration:
        offsets.append(at)
        at += draw.expovariate(rate)
    return offsets


def step_seed(seed: int, backend_index: int, step_index: int) -> int:
    """Each step's own seed, derived from the run's: steps differ, reruns repeat."""
    return (seed * 1_000_003 + backend_index * 10_007 + step_index) % (2**31)
