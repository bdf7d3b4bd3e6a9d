"""Two saved runs, backend by backend: did anything get faster or slower, and is it more than noise?

Each backend's measured rounds in run A and run B are compared with Welch's t-test on
their wall times (unequal variances and round counts are fine). The size of a change is
said as hyperfine says it: "1.31 ± 0.05 times faster", the ratio of the mean wall times
with its standard deviation propagated from both runs. Runs of different workloads
(name, spec, size or tasks per batch) measure different things and are refused unless
the caller forces the comparison.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from producer.errors import UsageError
from producer.measure.stats import welch_p
from producer.report.document import Document, Result
from producer.report.table import ms

ALPHA = 0.05
"""A p-value below this marks a difference as significant."""
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
    def significant(self) -> bool:
        return self.p_value is not None and self.p_value < ALPHA

    def wording(self) -> str:
        """``B 1.31 ± 0.05 times faster`` (or slower); hyperfine's form, always a factor of at least 1."""
        if self.ratio is None:
            return "not compared: " + ("failed in A" if not self.a.get("wall_s") else "failed in B")
        if self.ratio >= 1:
            return f"B {self.ratio:.2f} ± {self.error:.2f} times faster"
        inverse = 1 / self.ratio
        return f"B {inverse:.2f} ± {self.error * inverse * inverse:.2f} times slower"


@dataclass
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
    return f"{ms(wall['median'])} ±{ms(wall['iqr'] / 2)} ({wall['n']})" if wall else "failed"


def _speedups(c: Change) -> str:
    sa, sb = c.a.get("speedup"), c.b.get("speedup")
    return f"{sa['median']:.2f}x -> {sb['median']:.2f}x" if sa and sb else "-"


def _p(c: Change) -> str:
    if c.p_value is None:
        return "- (needs 2+ rounds)" if c.ratio is not None else "-"
    return f"{c.p_value:.3f}" + (" *" if c.significant else "")


def _run_line(label: str, name: str, doc: Document) -> str:
    w, s, m = doc["workload"], doc["settings"], doc["machine"]
    gil = {True: "GIL enabled", False: "GIL disabled"}.get(m.get("gil_enabled"), "GIL unknown")
    return (
        f"{label}: {name} ({doc.get('created', '?')}): {w['name']} size {w['size']:,}, {w['tasks']} tasks, "
        f"concurrency {s['concurrency']}, {s['repeat']} rounds; {m.get('cpus_usable')} CPUs, "
        f"{m.get('python_implementation')} {m.get('python_version')}, {gil}"
    )


def render(diff: Diff) -> str:
    lines = [_run_line("A", diff.a_name, diff.a), _run_line("B", diff.b_name, diff.b)]
    if diff.forced:
        lines.append(f"compared with --force although the workloads differ: {'; '.join(diff.forced)}")
    lines.append(
        "differs: " + "; ".join(diff.differences) if diff.differences else "same settings and machine"
    )
    titles = [
        "backend",
        "A: time ±IQR/2 (rounds)",
        "B: time ±IQR/2 (rounds)",
        "B vs A (mean ± sd)",
        "p (Welch)",
        "speedup A -> B",
    ]
    rows = [[c.backend, _time(c.a), _time(c.b), c.wording(), _p(c), _speedups(c)] for c in diff.changes]
    widths = [max(len(row[i]) for row in [titles, *rows]) for i in range(len(titles))]
    grid = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in [titles, *rows]
    ]
    grid.insert(1, "  ".join("-" * w for w in widths))
    lines += ["", *grid, ""]
    lines.append(
        f"* significant: p < {ALPHA} in Welch's t-test on the rounds' batch wall times; time = median "
        "±IQR/2; 'times faster' = mean wall time of A / mean of B, ± its standard deviation"
    )
    if diff.only_a:
        lines.append(f"only in A: {', '.join(diff.only_a)}")
    if diff.only_b:
        lines.append(f"only in B: {', '.join(diff.only_b)}")
    significant = [c for c in diff.changes if c.significant]
    if significant:
        lines.append("significant: " + "; ".join(f"{c.backend}: {c.wording()}" for c in significant))
    else:
        lines.append("no backend changed significantly (more --repeat gives the test more to go on)")
    return "\n".join(lines) + "\n"
