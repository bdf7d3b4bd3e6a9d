"""Two saved runs, backend by backend: did anything get faster or slower, and is it more than noise?

Each backend's measured rounds in run A and run B are compared with Welch's t-test on
their wall times (unequal variances and round counts are fine). The size of a change is
said as "1.31x faster ±0.05": the ratio of the mean wall times with its standard deviation
propagated from both runs; a difference Welch's test does not find is "no change". Below
:data:`MIN_ROUNDS` rounds in either run the test is not made, and the report says why.
The speedups are the table's statistic (the geometric mean of the per-round ratios, with
its 95% interval). Every line fits 80 columns. Runs of different workloads (name, spec,
size or tasks per batch) measure different things and are refused unless the caller
forces the comparison.
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass, field

from producer.errors import UsageError
from producer.measure.stats import welch_p
from producer.report.document import Document, Result
from producer.report.table import _speedup as speedup_cell  # the table's own cell
from producer.report.table import ms, ruled

ALPHA = 0.05
"""A p-value below this marks a difference as significant."""
MIN_ROUNDS = 5
"""Fewer measured rounds in either run: no significance test (two against two calls noise a change)."""
SAME_WORK = ("name", "spec", "size", "tasks")
"""Workload fields that must match for the wall times to be comparable."""
SETTINGS = ("concurrency", "repeat", "warmup", "start_method", "workers", "hosts", "link")
"""``hosts`` and ``link`` (--hosts, --link) are recorded only when set: absent in other runs."""
MACHINE = ("hostname", "cpus_usable", "cpu_model", "python_implementation", "python_version", "gil_enabled")


@dataclass(frozen=True)
class Change:
    backend: str
    a: Result
    b: Result
    ratio: float | None
    """Mean wall time of A / that of B: above 1, B is faster."""
    error: float | None
    """Standard deviation of ``ratio``, propagated from both runs' relative standard deviations."""
    p_value: float | None

    @property
    def rounds(self) -> tuple[int, int]:
        return (self.a.get("wall_s") or {}).get("n", 0), (self.b.get("wall_s") or {}).get("n", 0)

    @property
    def identical(self) -> bool:
        """The same measured rounds on both sides (``diff a.json a.json``): no change, nothing to test."""
        wa, wb = self.a.get("wall_s"), self.b.get("wall_s")
        return bool(wa and wb and wa.get("values") == wb.get("values"))

    @property
    def tested(self) -> bool:
        """Enough rounds on both sides for Welch's test to mean something."""
        return self.p_value is not None and min(self.rounds) >= MIN_ROUNDS

    @property
    def significant(self) -> bool:
        return self.tested and self.p_value < ALPHA

    def size(self) -> str:
        """``1.31x faster ±0.05`` (or slower): always a factor of at least 1."""
        if self.ratio >= 1:
            return f"{self.ratio:.2f}x faster ±{self.error:.2f}"
        inverse = 1 / self.ratio
        return f"{inverse:.2f}x slower ±{self.error * inverse * inverse:.2f}"

    def wording(self) -> str:
        """What B did against A: a change, ``no change``, or why it was not tested."""
        if self.ratio is None:
            return "not compared: " + ("failed in A" if not self.a.get("wall_s") else "failed in B")
        if self.identical:
            return "no change"
        if not self.tested:
            return "untested"
        return self.size() if self.significant else "no change"


@dataclass(repr=False)
class Diff:
    a_name: str
    b_name: str
    a: Document
    b: Document
    changes: list[Change]
    only_a: list[str] = field(default_factory=list)
    only_b: list[str] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)
    """Settings and machine facts that differ between the runs, as ``what: A -> B``."""
    forced: list[str] = field(default_factory=list)
    """Workload fields that differ, compared anyway (``force``)."""

    def __repr__(self) -> str:  # what a notebook shows for ``run.diff(other)``
        return render(self)


def workload_differences(a: Document, b: Document) -> list[str]:
    wa, wb = a["workload"], b["workload"]
    return [f"{k} {wa.get(k)!r} vs {wb.get(k)!r}" for k in SAME_WORK if wa.get(k) != wb.get(k)]


def _ratio(a: Result, b: Result) -> tuple[float | None, float | None, float | None]:
    wa, wb = a.get("wall_s"), b.get("wall_s")
    if not wa or not wb or not wa["mean"] or not wb["mean"]:
        return None, None, None
    ratio = wa["mean"] / wb["mean"]
    error = ratio * math.hypot(wa["stdev"] / wa["mean"], wb["stdev"] / wb["mean"])
    return ratio, error, welch_p(wa["values"], wb["values"])


def _differences(a: Document, b: Document) -> list[str]:
    out = []
    for section, keys in (("settings", SETTINGS), ("machine", MACHINE)):
        for key in keys:
            va, vb = a[section].get(key), b[section].get(key)
            if va != vb:
                out.append(f"{key}: {va} -> {vb}")
    return out


def compare(a: Document, b: Document, a_name: str = "A", b_name: str = "B", force: bool = False) -> Diff:
    """The per-backend changes from run A to run B; UsageError if they measured different work."""
    mismatch = workload_differences(a, b)
    if mismatch and not force:
        raise UsageError(
            f"'{a_name}' and '{b_name}' measured different workloads ({'; '.join(mismatch)}); "
            "compare them anyway with --force"
        )
    by_b = {r["backend"]: r for r in b["results"]}
    names_a = [r["backend"] for r in a["results"]]
    changes = [
        Change(r["backend"], r, by_b[r["backend"]], *_ratio(r, by_b[r["backend"]]))
        for r in a["results"]
        if r["backend"] in by_b
    ]
    if not changes:
        raise UsageError(f"'{a_name}' and '{b_name}' have no backend in common")
    return Diff(
        a_name=a_name,
        b_name=b_name,
        a=a,
        b=b,
        changes=changes,
        only_a=[n for n in names_a if n not in by_b],
        only_b=[n for n in by_b if n not in names_a],
        differences=_differences(a, b),
        forced=mismatch,
    )


def _time(r: Result) -> str:
    wall = r.get("wall_s")
    return f"{ms(wall['median'])} ±{ms(wall['iqr'] / 2)}" if wall else "failed"


def _p(c: Change) -> str:
    if c.ratio is None or c.identical:
        return "-"
    if not c.tested:
        return f"- ({min(c.rounds)})"
    return f"{c.p_value:.3f}" + (" *" if c.significant else "")


def _run_line(label: str, name: str, doc: Document) -> str:
    w, s, m = doc["workload"], doc["settings"], doc["machine"]
    gil = {True: "GIL enabled", False: "GIL disabled"}.get(m.get("gil_enabled"), "GIL unknown")
    rounds = (doc["results"][0].get("wall_s") or {}).get("n", s.get("repeat"))
    return (
        f"{label}: {name} ({doc.get('created', '?')}): {w['name']} size {w['size']:,}, {w['tasks']} tasks, "
        f"concurrency {s['concurrency']}, {rounds} rounds; {m.get('cpus_usable')} CPUs, "
        f"{m.get('python_implementation')} {m.get('python_version')}, {gil}"
    )


def verdict_line(diff: Diff) -> str:
    """The last line: what changed, or ``no change``, or why nothing could be said."""
    significant = [c for c in diff.changes if c.significant]
    if significant:
        return "changed: " + "; ".join(f"{c.backend} {c.size()}" for c in significant)
    compared = [c for c in diff.changes if c.ratio is not None]
    if compared and all(c.identical for c in compared):
        return "no change: both runs hold the same measurements"
    if any(not c.tested and not c.identical for c in compared):
        return (
            f"no change found, and none could be where a run has fewer than {MIN_ROUNDS} rounds: "
            f"Welch's test on so few calls noise a change (run both with --repeat {MIN_ROUNDS} or more)"
        )
    return "no change: no backend differs by more than the noise between rounds"


def render(diff: Diff, width: int = 80) -> str:
    fill = max(40, width - 1)

    def wrap(text: str) -> list[str]:
        return textwrap.wrap(text, fill, subsequent_indent="  ")

    lines = [*wrap(_run_line("A", diff.a_name, diff.a)), *wrap(_run_line("B", diff.b_name, diff.b))]
    if diff.forced:
        lines += wrap(f"compared with --force although the workloads differ: {'; '.join(diff.forced)}")
    lines += wrap(
        "differs: " + "; ".join(diff.differences) if diff.differences else "same settings and machine"
    )
    titles = ["backend", "A: time", "B: time", "B against A", "p (Welch)"]
    rows = [[c.backend, _time(c.a), _time(c.b), c.wording(), _p(c)] for c in diff.changes]
    lines += ["", *ruled(titles, rows), ""]
    speedups = [[c.backend, speedup_cell(c.a), speedup_cell(c.b)] for c in diff.changes]
    lines += [*ruled(["backend", "A: speedup [95%]", "B: speedup [95%]"], speedups), ""]
    lines += wrap(
        f"time = median batch wall time ±IQR/2; p < {ALPHA} (*) in Welch's t-test on the rounds' wall "
        f"times is a change, tested only with {MIN_ROUNDS} rounds or more in both runs (- (n): n "
        "rounds); a change = mean wall time of A / mean of B, ± its standard deviation; speedup as "
        "in the report: geometric mean of the per-round ratios to each run's own baseline"
    )
    if diff.only_a:
        lines += wrap(f"only in A: {', '.join(diff.only_a)}")
    if diff.only_b:
        lines += wrap(f"only in B: {', '.join(diff.only_b)}")
    lines += wrap(verdict_line(diff))
    return "\n".join(lines) + "\n"
