"""The speedup chart: per backend the speedup (geometric mean of the rounds), each round's
ratio, the min-max, the ideal."""

from __future__ import annotations

from producer.measure.ideal import ideal_of
from producer.report import missing
from producer.report.bars import spread
from producer.report.declared import is_baseline
from producer.report.document import Document, Result, speedup_value
from producer.report.palette import FAILED_COLOR, color_of


def _ideal(r: Result, cpus: int) -> float:
    return ideal_of(r, cpus)  # the document's own ideal (measure.ideal), not recomputed


def draw_speedup(fig, doc: Document) -> None:
    """Median speedup per backend, each round's ratio as a dot, the min-max whisker, the ideal."""
    ax = fig.add_axes((0.17, 0.2, 0.81, 0.65))
    cpus = doc["machine"].get("cpus_usable") or doc["machine"].get("cpu_count") or 1
    shown = [r for r in doc["results"] if r.get("speedup")]
    top = max(
        [1.0]
        + [
            max(speedup_value(r), _ideal(r, cpus), (r["speedup"].get("paired") or {}).get("max", 0))
            for r in shown
        ]
    )
    for x, r in enumerate(shown):
        median = speedup_value(r)  # the one speedup statistic (geometric mean of the rounds)
        paired = r["speedup"].get("paired") or {}
        failed = not r["ok"]
        ax.bar(
            x,
            median,
            width=0.6,
            color="#dddddd" if failed else color_of(r, x),
            edgecolor=FAILED_COLOR if failed else "none",
            hatch="xx" if failed else None,
            gid=f"speedup-{r['backend']}",
        )
        if paired and not is_baseline(r):
            low, high = paired["min"], paired["max"]
            ax.errorbar(x, median, yerr=spread([median], [low], [high]), color="#222222", capsize=5, lw=1.2)
            values = paired["values"]
            offsets = [(i - (len(values) - 1) / 2) * 0.06 for i in range(len(values))]
            ax.scatter([x + o for o in offsets], values, s=12, color="#222222", zorder=3)
        if not is_baseline(r):
            ideal = _ideal(r, cpus)
            ax.hlines(ideal, x - 0.4, x + 0.4, colors="#222222", linestyles="--", lw=1.2)
            ax.annotate(
                f"ideal {ideal:.3g}x",
                (x, ideal),
                xytext=(0, 2),
                textcoords="offset points",
                ha="center",
                fontsize=7,
            )
        inside = median > 0.3 * top and not failed
        ax.annotate(
            f"{median:.2f}x" + (" FAILED" if failed else ""),
            (x - 0.3, median),
            xytext=(3, -3 if inside else 3),
            textcoords="offset points",
            ha="left",
            va="top" if inside else "bottom",
            fontsize=9,
            fontweight="bold",
            color="white" if inside else FAILED_COLOR if failed else "black",
        )
    ax.axhline(1.0, color="#555555", lw=0.8)
    crowded = len(shown) > 8  # several interpreters' rows (--python): slanted, one line each
    ax.set_xticks(
        range(len(shown)),
        [f"{r['backend']}{', c=' if crowded else chr(10) + 'concurrency '}{r['concurrency']}" for r in shown],
        fontsize=8,
        rotation=30 if crowded else 0,
        ha="right" if crowded else "center",
    )
    ax.set_ylim(0, top * 1.18)
    ax.set_ylabel("speedup (x): sequential median\n/ backend median wall time", fontsize=9)
    ax.set_title(
        "Speedup over the sequential baseline (higher is better): bar = median of "
        f"{doc['settings']['repeat']} rounds,\nwhisker = min-max of the per-round ratios, dots = rounds, "
        "dashed = ideal, min(concurrency, tasks, CPUs / baseline's CPU share)",
        loc="left",
        fontsize=9.5,
    )
    absent = [(r["backend"], missing.reason(r)) for r in doc["results"] if not r.get("speedup")]
    if absent:  # never an empty chart without a reason
        ax.text(
            0.5,
            0.97 if shown else 0.5,
            ("" if shown else "No speedup measured well enough to draw.\n") + missing.sentence(absent),
            transform=ax.transAxes,
            ha="center",
            va="top" if shown else "center",
            fontsize=8 if shown else 10,
            color=FAILED_COLOR,
            gid="not-drawn",
            bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "none"},
        )
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.grid(axis="y", color="#dddddd", lw=0.5)
    ax.set_axisbelow(True)
