"""The table every tabular exporter shares: columns, and one row of cells per result.

Text, Markdown and CSV render the same rows; each number carries its spread. The
compact columns fit an 80-column terminal; ``wide`` adds the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from producer.report.declared import is_baseline
from producer.report.document import Document, Result, severity_of, speedup_value


def columns(grid: list[tuple[str, ...]] | list[list[str]], rule: bool = False) -> list[str]:
    """Rows of cells as lines, each column padded to its widest cell, two spaces apart; with
    ``rule``, a rule of dashes under the first row (the titles)."""
    widths = [max(len(row[i]) for row in grid) for i in range(len(grid[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in grid]
    if rule:
        lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


def ruled(titles, rows) -> list[str]:
    """:func:`columns` of the titles and the rows, with a rule of dashes under the titles."""
    return columns([titles, *rows], rule=True)


def ms(seconds: float) -> str:
    """A duration in the unit a person reads best, with sensible precision."""
    if seconds < 0.001:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 0.01:
        return f"{seconds * 1000:.2f} ms"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    return f"{seconds:.2f} s"


def _time(r: Result) -> str:
    wall = r["wall_s"]
    return f"{ms(wall['median'])} ±{ms(wall['iqr'] / 2)}" if wall else "-"


def _range(r: Result) -> str:
    wall = r["wall_s"]
    return f"{ms(wall['min'])}-{ms(wall['max'])}" if wall else "-"


def _is_baseline(r: Result) -> bool:
    """Its group's baseline (documents before ``baseline`` existed: the sequential row)."""
    return is_baseline(r)


def _speedup(r: Result) -> str:
    """The per-round speedups' geometric mean and 95% interval; the median and range without one."""
    sp, c = r["speedup"], r.get("comparison")
    if r.get("too_short"):
        return "too short"
    if not sp:
        return "-"
    if _is_baseline(r) or not sp.get("paired"):
        return "1.00x (baseline)"
    if c:
        return f"{c['mid']:.2f}x [{c['low']:.2f}-{c['high']:.2f}]"
    return f"{speedup_value(r):.2f}x ({sp['paired']['min']:.2f}-{sp['paired']['max']:.2f})"


def _round_range(r: Result) -> str:
    sp = r["speedup"]
    if not sp or not sp.get("paired") or _is_baseline(r):
        return "-"
    return f"{speedup_value(r):.2f}x ({sp['paired']['min']:.2f}-{sp['paired']['max']:.2f})"


def _efficiency(r: Result) -> str:
    eff, sp = r["efficiency"], r["speedup"]
    if not eff:
        return "-"
    n = eff["parallelism"]  # the ideal speedup (measure.ideal)
    if sp["paired"] and not _is_baseline(r):
        return f"{eff['value']:.0%} ({sp['paired']['min'] / n:.0%}-{sp['paired']['max'] / n:.0%}) of {n:.3g}"
    return f"{eff['value']:.0%} of {n:.3g}"


def _util(r: Result) -> str:
    util = r["cpu_util"]
    if not util:
        return "-"
    text = f"{util['median']:.2f} ±{util['iqr'] / 2:.2f}"
    return text + "ᵗ" if r.get("cpu_source") == "tasks" else text


def _concurrency(r: Result) -> str:
    text = str(r["concurrency"])
    workers = r["settings"].get("workers")
    return text + f" ({workers} worker{'s' if workers > 1 else ''})" if workers else text


def _verified(r: Result) -> str:
    if not r["wall_s"]:
        return "FAILED"
    return "yes" if r["ok"] else "NO"


def _name(r: Result) -> str:
    """The backend's name, starred when a note below speaks of it."""
    return r["backend"] + ("*" if r["warnings"] or r["problems"] else "")


def mib(n: float | None) -> str:
    if n is None:
        return "unknown"
    if n >= 10 * 2**30:
        return f"{n / 2**30:.0f} GiB"
    return f"{n / 2**20:.0f} MiB" if n >= 10 * 2**20 else f"{n / 2**20:.1f} MiB"


def peak_rss(r: Result) -> str:
    m = r.get("memory") or {}
    if not m.get("peak_rss_bytes"):
        return "unknown" if m.get("unknown") else "-"
    spread = m.get("peak_rss_per_batch")
    text = mib(m["peak_rss_bytes"])
    if not spread or spread["n"] < 2:
        return text
    low, high = mib(spread["min"]), mib(spread["max"])
    if low.split()[-1] == high.split()[-1]:  # same unit: "151 MiB (148-151)"
        return f"{text} ({low.split()[0]}-{high.split()[0]})"
    return f"{text} ({low}-{high})"


def peak_uss(r: Result) -> str:
    m = r.get("memory") or {}
    if m.get("unknown"):
        return "unknown"
    return mib(m["peak_uss_bytes"]) if m.get("peak_uss_bytes") else "-"


@dataclass(frozen=True)
class Column:
    title: str
    cell: Callable[[Result], str]
    compact: bool
    """Shown in the 80-column table; the others only with --wide."""


COLUMNS = (
    Column("backend", _name, True),
    Column("conc.", _concurrency, False),
    Column("time ±IQR/2", _time, True),
    Column("min-max", _range, False),
    Column("speedup [95%]", _speedup, True),
    Column("median (range)", _round_range, False),
    Column("efficiency", _efficiency, False),
    Column("CPU/wall", _util, True),
    Column("start-up", lambda r: ms(r["startup_s"] or 0.0), False),
    Column("peak RSS (range)", peak_rss, False),
    Column("peak USS", peak_uss, False),
    Column("verified", _verified, True),
)


def rows(doc: Document, wide: bool = True) -> tuple[list[str], list[list[str]]]:
    """Column titles and one row of cells per result."""
    columns = [c for c in COLUMNS if wide or c.compact]
    return [c.title for c in columns], [[c.cell(r) for c in columns] for r in doc["results"]]


def _stat(key: str, field: str) -> Callable[[Result], float | None]:
    return lambda r: (r.get(key) or {}).get(field)


def _paired(field: str) -> Callable[[Result], float | None]:
    return lambda r: ((r.get("speedup") or {}).get("paired") or {}).get(field)


NUMBERS: tuple[tuple[str, Callable[[Result], object]], ...] = (
    ("backend", lambda r: r["backend"]),
    ("family", lambda r: r.get("family")),
    ("pool", lambda r: r.get("pool")),
    ("concurrency", lambda r: r["concurrency"]),
    ("workers", lambda r: (r.get("settings") or {}).get("workers")),
    ("rounds", _stat("wall_s", "n")),
    ("wall_median_s", _stat("wall_s", "median")),
    ("wall_iqr_s", _stat("wall_s", "iqr")),
    ("wall_min_s", _stat("wall_s", "min")),
    ("wall_max_s", _stat("wall_s", "max")),
    ("wall_mean_s", _stat("wall_s", "mean")),
    ("wall_stdev_s", _stat("wall_s", "stdev")),
    ("speedup_median", _stat("speedup", "median")),
    ("speedup", speedup_value),
    ("speedup_min", _paired("min")),
    ("speedup_max", _paired("max")),
    ("efficiency", _stat("efficiency", "value")),
    ("parallelism", _stat("efficiency", "parallelism")),
    ("cpu_util_median", _stat("cpu_util", "median")),
    ("cpu_util_iqr", _stat("cpu_util", "iqr")),
    ("startup_s", lambda r: r.get("startup_s")),
    ("p_value_vs_baseline", lambda r: r.get("p_value_vs_baseline")),
    ("queue_wait_median_s", _stat("queue_wait_s", "median")),
    ("task_run_median_s", _stat("task_run_s", "median")),
    ("verified", lambda r: bool(r["ok"] and r.get("wall_s"))),
    ("unstable", lambda r: any(severity_of(w) == "warn" for w in r.get("warnings") or [])),
)
"""Raw numbers per result, in seconds and ratios, for formats read by programs (CSV)."""


def number_rows(doc: Document) -> tuple[list[str], list[list[object]]]:
    """Titles and one row of raw values per result; None where a value was not measured."""
    return [title for title, _ in NUMBERS], [[get(r) for _, get in NUMBERS] for r in doc["results"]]
