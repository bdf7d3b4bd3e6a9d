"""Pictures of a run: a timeline of one round per backend, and the speedups. PNG or SVG.

The timeline puts each task on the thread, process or Celery worker that ran it, and
fills each bar to the share of its wall time that was spent on a CPU. Threads under
the GIL overlap in time but their bars are mostly empty (they take turns); processes
overlap with full bars; a Celery task's queue wait is the hatched strip before its bar.

matplotlib is an optional extra (``pip install 'poolbench[plot]'``), imported only here,
with the Agg canvas and fixed metadata, so the same document gives the same file.
"""

from __future__ import annotations

import io
import textwrap

from producer.errors import UsageError
from producer.report import lanes as lanes_mod
from producer.report.document import Document, Result
from producer.report.lanes import Timeline
from producer.report.table import ms
from producer.report.text import python_label

FORMATS = ("png", "svg")
MISSING = "needs matplotlib: pip install 'poolbench[plot]'"
WIDTH_IN = 11.0
LANE_IN = 0.5
COLORS = {
    "sequential": "#6b6b6b",
    "threads": "#e07b00",
    "processes": "#1f6fb4",
    "celery-prefork": "#2a9d8f",
    "celery-threads": "#c8553d",
    "celery-solo": "#7a5195",
    "celery-gevent": "#5a8f29",
}
OTHER_COLORS = ("#8c564b", "#bc5090", "#17becf", "#bcbd22")
QUEUE_COLOR = "#9a9a9a"


def available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def require(flag: str) -> None:
    """Raise the one-line error for ``flag`` when matplotlib is missing."""
    if not available():
        raise UsageError(f"{flag} {MISSING}")


def color_of(backend: str, position: int) -> str:
    return COLORS.get(backend) or OTHER_COLORS[position % len(OTHER_COLORS)]


def _unit(span: float) -> tuple[float, str]:
    return (1000.0, "ms") if span < 2.0 else (1.0, "s")


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="none")


TOP_IN, BOTTOM_IN, GAP_IN = 0.9, 0.5, 0.4
"""Inches above the first panel (title, legend), below the last (axis label), between panels."""


def timeline_height(lines: list[Timeline]) -> float:
    return TOP_IN + BOTTOM_IN + sum(LANE_IN * len(t.lanes) + GAP_IN for t in lines)


def draw_timeline(fig, doc: Document) -> None:
    """One panel per backend, lanes stacked in it, on a shared time axis."""
    from matplotlib.patches import Patch

    lines = lanes_mod.timelines(doc)
    results = {r["backend"]: r for r in doc["results"]}
    order = {r["backend"]: i for i, r in enumerate(doc["results"])}
    height = timeline_height(lines)
    fig.suptitle(
        "Where each task ran, and how much of it was on a CPU (one typical round per backend)",
        x=0.01,
        y=1 - 0.08 / height,
        va="top",
        ha="left",
        fontsize=12,
        fontweight="bold",
    )
    if not lines:
        fig.text(0.5, 0.5, "no measured round to draw", ha="center")
        return
    scale, unit = _unit(max(t.end for t in lines) or 1.0)
    span = max(max(t.end, t.wall_s) for t in lines) * scale * 1.02
    axes_in = [LANE_IN * len(t.lanes) for t in lines]
    grid = fig.add_gridspec(
        len(lines),
        1,
        height_ratios=axes_in,
        left=0.17,
        right=0.98,
        top=1 - TOP_IN / height,
        bottom=BOTTOM_IN / height,
        hspace=GAP_IN / (sum(axes_in) / len(axes_in)),
    )
    axes = []
    for row, line in enumerate(lines):
        ax = fig.add_subplot(grid[row, 0], sharex=axes[0] if axes else None)
        axes.append(ax)
        color = color_of(line.backend, order[line.backend])
        _draw_lanes(ax, line, scale, span, color)
        ax.set_xlim(0, span)
        left, right = _panel_titles(line, results[line.backend])
        ax.set_title(left, loc="left", fontsize=9.5, pad=3, fontweight="bold")
        ax.set_title(right, loc="right", fontsize=8.5, pad=3)
        ax.tick_params(axis="x", labelbottom=row == len(lines) - 1, labelsize=8)
    axes[-1].set_xlabel(f"time since the round's first task was sent or started ({unit})", fontsize=9)
    handles = [
        Patch(facecolor="#555555", edgecolor="#333333", label="on a CPU (task's CPU time / its wall time)"),
        Patch(
            facecolor="#dddddd",
            edgecolor="#333333",
            label="running but off CPU (waiting for the GIL, I/O, sleep)",
        ),
    ]
    if any(t.family == "celery" for t in lines):
        queued = "queued in Celery (sent -> started)"
        handles.append(Patch(facecolor="white", edgecolor=QUEUE_COLOR, hatch="////", label=queued))
    if any(b.failed for t in lines for lane in t.lanes for b in lane.bars):
        handles.append(Patch(facecolor="white", edgecolor="#d00000", lw=1.4, label="task raised"))
    fig.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(0.01, 1 - 0.33 / height),
        ncol=len(handles),
        fontsize=8,
        frameon=False,
    )


def _panel_titles(line: Timeline, result: Result) -> tuple[str, str]:
    util = result.get("cpu_util") or {}
    busy = f"; cores kept busy {util['median']:.2f}" if util else ""
    wall = f"batch wall time {ms(line.wall_s)} (dotted)"
    left = f"{line.backend}: round {line.round} of {line.rounds}, {wall}"
    return left, f"tasks on a CPU {line.cpu_share:.0%} of their running time{busy}"


def _draw_lanes(ax, line: Timeline, scale: float, span: float, color: str) -> None:
    n = len(line.lanes)
    for i, lane in enumerate(line.lanes):
        y = n - 1 - i  # first lane on top
        ax.axhspan(
            y - 0.5, y + 0.5, color="#f4f4f4" if i % 2 else "white", zorder=0, gid=f"lane-{line.backend}-{i}"
        )
        for bar in lane.bars:
            start, width = bar.start * scale, (bar.end - bar.start) * scale
            if bar.sent is not None and bar.start - bar.sent > 0:
                q = bar.sent * scale
                ax.barh(
                    y - 0.36,
                    start - q,
                    left=q,
                    height=0.12,
                    color="white",
                    edgecolor=QUEUE_COLOR,
                    hatch="////",
                    lw=0.6,
                )
            ax.barh(y + 0.05, width, left=start, height=0.7, color=color, alpha=0.22, edgecolor="none")
            ax.barh(
                y - 0.3 + 0.35 * bar.cpu_share, width, left=start, height=0.7 * bar.cpu_share, color=color
            )
            edge = "#d00000" if bar.failed else "#222222"
            ax.barh(
                y + 0.05,
                width,
                left=start,
                height=0.7,
                fill=False,
                edgecolor=edge,
                lw=1.4 if bar.failed else 0.7,
            )
            if width > 0.045 * span:
                ax.annotate(
                    f"#{bar.index} {bar.cpu_share:.0%}",
                    (start + width / 2, y + 0.05),
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="black",
                    annotation_clip=True,
                    clip_on=True,
                )
    ax.axvline(line.wall_s * scale, color="#444444", ls=":", lw=1)
    ax.set_ylim(-0.5, n - 0.5)
    ax.set_yticks(range(n), [lane.label for lane in reversed(line.lanes)], fontsize=7.5)
    ax.tick_params(axis="y", length=0)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.grid(axis="x", color="#cccccc", lw=0.5)
    ax.set_axisbelow(True)


def _ideal(r: Result, cpus: int) -> int:
    return (r.get("efficiency") or {}).get("parallelism") or min(r["concurrency"], cpus)


def draw_speedup(fig, doc: Document) -> None:
    """Median speedup per backend, each round's ratio as a dot, the min-max whisker, the ideal."""
    ax = fig.add_axes((0.17, 0.2, 0.81, 0.65))
    cpus = doc["machine"].get("cpus_usable") or doc["machine"].get("cpu_count") or 1
    shown = [r for r in doc["results"] if r.get("speedup")]
    top = max(
        [1.0]
        + [
            max(r["speedup"]["median"], _ideal(r, cpus), (r["speedup"].get("paired") or {}).get("max", 0))
            for r in shown
        ]
    )
    for x, r in enumerate(shown):
        median = r["speedup"]["median"]
        paired = r["speedup"].get("paired") or {}
        failed = not r["ok"]
        ax.bar(
            x,
            median,
            width=0.6,
            color="#dddddd" if failed else color_of(r["backend"], x),
            edgecolor="#d00000" if failed else "none",
            hatch="xx" if failed else None,
            gid=f"speedup-{r['backend']}",
        )
        if paired and r["backend"] != "sequential":
            low, high = paired["min"], paired["max"]
            ax.errorbar(x, median, yerr=[[median - low], [high - median]], color="#222222", capsize=5, lw=1.2)
            values = paired["values"]
            offsets = [(i - (len(values) - 1) / 2) * 0.06 for i in range(len(values))]
            ax.scatter([x + o for o in offsets], values, s=12, color="#222222", zorder=3)
        if r["backend"] != "sequential":
            ideal = _ideal(r, cpus)
            ax.hlines(ideal, x - 0.4, x + 0.4, colors="#222222", linestyles="--", lw=1.2)
            ax.annotate(
                f"ideal {ideal}x",
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
            color="white" if inside else "#d00000" if failed else "black",
        )
    ax.axhline(1.0, color="#555555", lw=0.8)
    ax.set_xticks(
        range(len(shown)), [f"{r['backend']}\nconcurrency {r['concurrency']}" for r in shown], fontsize=8
    )
    ax.set_ylim(0, top * 1.18)
    ax.set_ylabel("speedup (x): sequential median\n/ backend median wall time", fontsize=9)
    ax.set_title(
        "Speedup over the sequential baseline (higher is better): bar = median of "
        f"{doc['settings']['repeat']} rounds,\nwhisker = min-max of the per-round ratios, dots = rounds, "
        "dashed = ideal, min(concurrency, tasks, CPUs)",
        loc="left",
        fontsize=9.5,
    )
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.grid(axis="y", color="#dddddd", lw=0.5)
    ax.set_axisbelow(True)


def caption(doc: Document) -> str:
    m, w, s = doc["machine"], doc["workload"], doc["settings"]
    parts = [
        f"Machine: {m.get('cpus_usable')} CPUs ({m.get('cpu_model') or 'unknown CPU'}), "
        f"{m.get('platform', '')}; {python_label(m)}.",
        f"Workload {w['name']} (size {w['size']:,}, {w['kind']}): {s['tasks']} tasks per batch, concurrency "
        f"{s['concurrency']}, {s['repeat']} measured + {s['warmup']} warm-up rounds, interleaved.",
    ]
    for r in doc["results"]:
        if r.get("family") == "celery":
            st = r.get("settings") or {}
            parts.append(
                f"{r['backend']}: pool {r.get('pool')}, {st.get('workers')} worker(s), concurrency "
                f"{r['concurrency']}, prefetch multiplier {st.get('prefetch_multiplier')}, acks_late "
                f"{st.get('acks_late')}; tasks ran on {python_label(r.get('python') or {})}."
            )
    parts.append(f"poolbench {doc['tool']['version']}, {doc.get('created', '')}.")
    return " ".join(parts)


def _add_caption(fig, doc: Document, height_in: float) -> None:
    text = "\n".join(textwrap.wrap(caption(doc), 170))
    fig.text(0.01, 0.006, text, fontsize=7.5, va="bottom", ha="left", color="#333333")


def figure(doc: Document, chart: str = "all"):
    """A matplotlib Figure of ``chart``: "timeline", "speedup" or "all" (both, one above the other)."""
    lines = lanes_mod.timelines(doc)
    t_height, s_height = timeline_height(lines), 3.6
    caption_in = 0.16 * (len(textwrap.wrap(caption(doc), 170)) + 1)
    if chart == "timeline":
        fig = _figure(WIDTH_IN, t_height + caption_in)
        sub = fig.subfigures(2, 1, height_ratios=[t_height, caption_in])
        draw_timeline(sub[0], doc)
    elif chart == "speedup":
        fig = _figure(WIDTH_IN, s_height + caption_in)
        sub = fig.subfigures(2, 1, height_ratios=[s_height, caption_in])
        draw_speedup(sub[0], doc)
    else:
        fig = _figure(WIDTH_IN, t_height + s_height + caption_in)
        sub = fig.subfigures(3, 1, height_ratios=[t_height, s_height, caption_in])
        draw_timeline(sub[0], doc)
        draw_speedup(sub[1], doc)
    _add_caption(sub[-1], doc, caption_in)
    return fig


def render(doc: Document, *, image_format: str = "png", chart: str = "all", **_options) -> bytes:
    """The picture as PNG or SVG bytes; the same document gives the same bytes."""
    if image_format not in FORMATS:
        raise UsageError(f"pictures are .png or .svg, not .{image_format}")
    require("--plot")
    import matplotlib

    style = {"svg.hashsalt": f"poolbench-{chart}", "svg.fonttype": "path", "font.family": "DejaVu Sans"}
    with matplotlib.rc_context(style):
        fig = figure(doc, chart)
        out = io.BytesIO()
        metadata = {"Date": None} if image_format == "svg" else {"Software": "poolbench (matplotlib)"}
        fig.savefig(out, format=image_format, metadata=metadata)
    return out.getvalue()
