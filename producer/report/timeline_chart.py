"""The timeline: one typical round per backend, a lane per thread, process or broker's worker.

Each task is a bar filled to the share of its wall time it spent on a CPU, in the colour of
its backend's declared model (:mod:`palette`); a brokered task's queue wait is a hatched
strip under its lane. Draws on a matplotlib (sub)figure; :mod:`plot` makes the figure and
the file.
"""

from __future__ import annotations

from producer.report import lanes as lanes_mod
from producer.report.document import Document, Result
from producer.report.lanes import Timeline
from producer.report.palette import FAILED_COLOR, QUEUE_COLOR, color_of
from producer.report.table import ms

LANE_IN = 0.5
"""Inches per lane."""
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
        color = color_of(results[line.backend], order[line.backend])
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
    if any(t.via == "broker" for t in lines):
        queued = "queued at the broker (sent -> started)"
        handles.append(Patch(facecolor="white", edgecolor=QUEUE_COLOR, hatch="////", label=queued))
    if any(t.binned for t in lines):
        binned = "binned: share of each bin busy (outline), on a CPU (filled)"
        handles.append(Patch(facecolor="#dddddd", edgecolor="#222222", label=binned))
    if any(b.failed for t in lines for lane in t.lanes for b in lane.bars):
        handles.append(Patch(facecolor="white", edgecolor=FAILED_COLOR, lw=1.4, label="task raised"))
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
    if line.binned:  # too many tasks for a box each: said in the panel's own title
        left = f"{line.backend}: round {line.round} of {line.rounds}, {ms(line.wall_s)} (dotted); "
        left += f"{line.tasks:,} tasks binned by {ms(line.bin_s)}"
        return left, f"on a CPU {line.cpu_share:.0%} of running time{busy.replace(' kept', '')}"
    return left, f"tasks on a CPU {line.cpu_share:.0%} of their running time{busy}"


def _draw_binned(ax, line: Timeline, scale: float, color: str) -> None:
    """Each lane's occupancy: the light area is the share of a bin it ran a task, the solid area
    the share it was on a CPU (too many tasks per lane for a box each)."""
    n = len(line.lanes)
    edges = [i * line.bin_s * scale for i in range(len(line.lanes[0].busy) + 1)] if line.lanes else []
    for i, lane in enumerate(line.lanes):
        base = n - 1 - i - 0.3
        busy = [base + 0.7 * min(1.0, v) for v in lane.busy]
        cpu = [base + 0.7 * min(1.0, v) for v in lane.cpu]
        ax.stairs(busy, edges, baseline=base, fill=True, color=color, alpha=0.22, lw=0)
        ax.stairs(cpu, edges, baseline=base, fill=True, color=color, lw=0)
        ax.stairs(busy, edges, baseline=base, color="#222222", lw=0.5)


def _draw_lanes(ax, line: Timeline, scale: float, span: float, color: str) -> None:
    n = len(line.lanes)
    if line.binned:
        _draw_binned(ax, line, scale, color)  # the lanes' stripes and axes below as for bars
    for i, lane in enumerate(line.lanes):
        y = n - 1 - i  # first lane on top
        ax.axhspan(
            y - 0.5, y + 0.5, color="#f4f4f4" if i % 2 else "white", zorder=0, gid=f"lane-{line.backend}-{i}"
        )
        for bar in () if line.binned else lane.bars:
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
            edge = FAILED_COLOR if bar.failed else "#222222"
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


def _unit(span: float) -> tuple[float, str]:
    return (1000.0, "ms") if span < 2.0 else (1.0, "s")
