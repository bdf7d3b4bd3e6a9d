"""Why a row has no point on a chart: said on the chart, never left as an empty axis."""

from __future__ import annotations

import textwrap

from producer.report.document import Result


def reason(r: Result | None) -> str:
    """Why ``r`` has no speedup to draw, in a few words."""
    if r is None:
        return "not measured"
    if not r.get("wall_s"):
        return "failed"
    if r.get("too_short"):
        return "too short to measure: raise --size or --tasks"
    if not r.get("ok", True):
        return "results did not match the baseline"
    if not r.get("comparison"):
        rounds = r["wall_s"].get("n", 0)
        return f"{rounds} round(s): an interval needs 3 or more (--repeat)"
    return "no speedup"


def sentence(missing: list[tuple[str, str]], width: int = 90) -> str:
    """``Not drawn: a, b: too short ...; c: failed`` grouped by reason, wrapped for a figure."""
    by_reason: dict[str, list[str]] = {}
    for name, why in missing:
        by_reason.setdefault(why, []).append(name)
    text = "Not drawn: " + "; ".join(f"{', '.join(names)}: {why}" for why, names in by_reason.items())
    return "\n".join(textwrap.wrap(text, width))
