"""``poolbench diff`` of two ``load`` documents: capacity and p99, per backend and rate.

Each figure is shown with its interval (capacity: the repetitions' extremes or the bracket
its steps left; p99: the 95% interval from the order statistics). A change is named only
when the two intervals do not meet; when none is, the diff says ``no change``. Backends
are matched by their row's name, rates by the offered rate (``--rate auto`` ladders that
started apart share no rate: the diff says so). Every line fits 80 columns.
"""

from __future__ import annotations

from producer.report.load_text import fold, ms, rate

SETTINGS_COMPARED = ("workload", "size", "concurrency", "duration", "arrivals", "seed", "broker")
ROW = "{:<18} {:>8} {:<20} {:<20} {}"


def _apart(a: list | None, b: list | None) -> str | None:
    """'higher'/'lower' when interval b lies wholly above/below a; None when they meet or one is missing."""
    if not a or not b or None in (a[0], b[0]):
        return None
    a_high = a[1] if a[1] is not None else float("inf")
    b_high = b[1] if b[1] is not None else float("inf")
    if b[0] > a_high:
        return "higher"
    if b_high < a[0]:
        return "lower"
    return None


def _capacity(c: dict) -> tuple[str, list | None]:
    if c.get("value") is None:
        return "none sustained", None
    high = c.get("high") if c.get("saturated") else None
    shown = f"{rate(c['value'])} [{rate(c['low'])}-{rate(high) if high else '?'}]"
    return shown, [c["low"], high]


def _p99(step: dict) -> tuple[str, list | None]:
    lat = step["latency"]
    band = lat.get("p99_interval")
    if lat.get("p99") is None:
        return "-", None
    shown = f"{ms(lat['p99'])} [{ms(band[0])}-{ms(band[1])}]" if band else ms(lat["p99"])
    return shown, band


def _steps_by_rate(result: dict) -> dict[float, dict]:
    """The last counted step at each offered rate (a refused or interrupted step is not counted)."""
    out = {}
    for step in result["steps"]:
        if not step.get("refused") and not step.get("interrupted"):
            out[step["offered"]] = step
    return out


def render(a: dict, b: dict, a_path: str, b_path: str, width: int = 80) -> str:
    lines = [
        f"load diff: A = {a_path} ({a.get('created', '?')})",
        f"           B = {b_path} ({b.get('created', '?')})",
    ]
    sa, sb = a["settings"], b["settings"]
    differ = [f"{k} {sa.get(k)} -> {sb.get(k)}" for k in SETTINGS_COMPARED if sa.get(k) != sb.get(k)]
    if differ:
        lines.append("settings differ (compared anyway): " + "; ".join(differ))
    else:
        lines.append(
            f"{sa['workload']} size {sa['size']:,}, concurrency {sa['concurrency']}, {sa['arrivals']} "
            f"arrivals, seed {sa['seed']}, steps of {sa['duration']:g} s"
        )
    by_name_b = {r["name"]: r for r in b["results"]}
    changes = 0
    lines += ["", "capacity, tasks/s [interval]", ROW.format("backend", "", "A", "B", "change").rstrip()]
    pairs = [(r, by_name_b[r["name"]]) for r in a["results"] if r["name"] in by_name_b]
    for ra, rb in pairs:
        (ta, ia), (tb, ib) = _capacity(ra["capacity"]), _capacity(rb["capacity"])
        moved = _apart(ia, ib)
        changes += moved is not None
        lines.append(ROW.format(ra["name"][:18], "", ta, tb, moved or "within intervals").rstrip())
    lines += ["", "p99 at each rate both ran, ms [95% interval]"]
    lines.append(ROW.format("backend", "rate /s", "A", "B", "change"))
    shared_any = False
    for ra, rb in pairs:
        steps_a, steps_b = _steps_by_rate(ra), _steps_by_rate(rb)
        for offered in sorted(set(steps_a) & set(steps_b)):
            shared_any = True
            (ta, ia), (tb, ib) = _p99(steps_a[offered]), _p99(steps_b[offered])
            moved = _apart(ia, ib)
            changes += moved is not None
            lines.append(ROW.format(ra["name"][:18], rate(offered), ta, tb, moved or "within").rstrip())
    if not shared_any:
        lines.append("  no offered rate in common (auto ladders start from each run's own call time)")
    only = sorted({r["name"] for r in a["results"]} ^ set(by_name_b))
    if only:
        lines.append("")
        lines.append(f"in one run only (not compared): {', '.join(only)}")
    lines.append("")
    lines.append(
        "no change: every difference is within the intervals"
        if not changes
        else f"{changes} change{'s' if changes > 1 else ''} beyond the intervals (higher/lower: B against A)"
    )
    return "\n".join(fold(line, width) for line in lines) + "\n"
