"""The picture of ``convoy``: every round trip of one round, over time, per condition.

One row per condition (no load, threads, processes), sharing a logarithmic latency axis:
each dot is one round trip at the time it started, with its median, its p99 and the
switch interval drawn across; beside each row, how the time spent waiting for replies
splits by latency (bars; a few slow round trips can take most of it), and how the
round trips do (a line; dots drawn on top of each other hide how many there are).
Beside threads, the dots split into a fast band and a band at the switch interval and
beyond; that gap is the GIL. The caption gives the machine, interpreter and settings.

matplotlib is an optional extra (``pip install 'poolbench[plot]'``), imported only
here, with the Agg canvas and fixed metadata.
"""

from __future__ import annotations

import io
import math
import textwrap

from producer.convoy.text import label
from producer.errors import UsageError
from producer.report.labels import python_label
from producer.report.table import ms

FORMATS = ("png", "svg")
MISSING = "--plot needs matplotlib: pip install 'poolbench[plot]'"
COLORS = {"idle": "#6b6b6b", "threads": "#e07b00", "processes": "#1f6fb4"}
WIDTH_IN, ROW_IN, TOP_IN = 11.0, 2.2, 1.1


def require() -> None:
    """UsageError (one line, exit 2) when matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise UsageError(MISSING) from None


def caption(doc: dict) -> str:
    m, s = doc["machine"], doc["settings"]
    return (
        f"Machine: {m.get('cpus_usable')} CPUs ({m.get('cpu_model') or 'unknown CPU'}), "
        f"{m.get('platform', '')}; "
        f"{python_label(m)}; switch interval {s['switch_interval_s'] * 1000:g} ms. "
        f"Server: {s['server']}; client: {s['client']}; {s['transport']}, {s['message_bytes']}-byte "
        f"messages. Load: {s['tasks']} task{'s' if s['tasks'] != 1 else ''} of {s['load']}. "
        f"{s['rounds']} round(s) x {s['duration']:g} s per condition, interleaved; the last round is drawn. "
        f"poolbench {doc['tool']['version']}, {doc.get('created', '')}."
    )


def _seconds_label(value: float, _position=None) -> str:
    return ms(value).replace(".00 ", " ")


def _row(ax, hist, c: dict, doc: dict, bins) -> None:
    color = COLORS[c["condition"]]
    line = c["timeline"]
    ax.scatter(line["t_s"], line["latency_s"], s=3, color=color, alpha=0.5, linewidths=0, rasterized=True)
    last = c["rounds"][-1]
    marks = [
        (last["median_s"], "-", f"median {ms(last['median_s'])}", -2, "top"),
        (last["p99_s"], "--", f"p99 {ms(last['p99_s'])}", 2, "bottom"),
    ]
    for value, style, text, dy, va in marks:
        ax.axhline(value, color="black", linestyle=style, linewidth=0.9)
        ax.annotate(text, (1.0, value), xycoords=("axes fraction", "data"), xytext=(-4, dy),
                    textcoords="offset points", ha="right", va=va, fontsize=8,
                    bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 0.5})  # fmt: skip
    switch = doc["settings"]["switch_interval_s"]
    ax.axhline(switch, color="#b00000", linestyle=":", linewidth=1)
    ax.annotate(f"switch interval {switch * 1000:g} ms", (0.0, switch), xycoords=("axes fraction", "data"),
                xytext=(4, 2), textcoords="offset points", fontsize=8, color="#b00000")  # fmt: skip
    thinned = f" (1 in {line['thinned_every']} drawn)" if line["thinned_every"] > 1 else ""
    ax.set_title(
        f"{label(c)}: {last['requests_per_s']:,.0f} requests/s, {last['samples']:,} round trips{thinned}",
        loc="left",
        fontsize=10,
        color=color,
        fontweight="bold",
    )
    total = sum(line["latency_s"]) or 1.0
    weights = [100 * x / total for x in line["latency_s"]]  # the share of time, not of round trips
    hist.hist(line["latency_s"], bins=bins, weights=weights, orientation="horizontal", color=color)
    share = [100 / len(line["latency_s"])] * len(line["latency_s"])  # dots overlap; this counts them
    hist.hist(line["latency_s"], bins=bins, weights=share, orientation="horizontal", histtype="step",
              color="black", linewidth=0.9)  # fmt: skip
    hist.set_xlim(0, 100)


def figure(doc: dict):
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    conditions = doc["conditions"]
    cap = textwrap.wrap(caption(doc), 190)
    cap_in = 0.17 * (len(cap) + 1)
    height = TOP_IN + ROW_IN * len(conditions) + 0.5 + cap_in
    fig = Figure(figsize=(WIDTH_IN, height), dpi=100)
    grid = fig.add_gridspec(
        len(conditions), 2, width_ratios=[6, 1], left=0.09, right=0.98, wspace=0.04, hspace=0.45,
        top=1 - TOP_IN / height, bottom=(cap_in + 0.5) / height,
    )  # fmt: skip
    every = [x for c in conditions for x in c["timeline"]["latency_s"] if x > 0]
    top = max(max(every), doc["settings"]["switch_interval_s"])
    low, high = math.log10(min(every) / 3), math.log10(top * 4)
    bins = [10 ** (low + (high - low) * i / 30) for i in range(31)]
    axes = []
    for row, c in enumerate(conditions):
        ax = fig.add_subplot(grid[row, 0], sharex=axes[0] if axes else None, sharey=axes[0] if axes else None)
        hist = fig.add_subplot(grid[row, 1], sharey=ax)
        _row(ax, hist, c, doc, bins)
        ax.set_yscale("log")
        ax.set_ylim(10**low, 10**high)
        ax.yaxis.set_major_formatter(FuncFormatter(_seconds_label))
        ax.grid(True, which="major", axis="y", color="#dddddd", linewidth=0.6)
        hist.tick_params(labelleft=False)
        if row == 0:
            hist.set_title("share by latency", fontsize=9)
        last_row = row == len(conditions) - 1
        hist.set_xlabel(
            "%: bars of the time waited,\nline of the round trips" if last_row else "", fontsize=8
        )
        if row < len(conditions) - 1:
            ax.tick_params(labelbottom=False)
        axes.append(ax)
    axes[-1].set_xlabel("time since the measuring window began (s)")
    fig.supylabel("round-trip latency (log scale)", x=0.01, fontsize=10)
    by = {c["condition"]: c for c in conditions}
    fig.suptitle(
        f"Round trips to an echo server thread, beside {label(by['threads'])} or {label(by['processes'])} "
        "of CPU-bound Python",
        x=0.09, ha="left", y=1 - 0.15 / height, fontsize=12, fontweight="bold",
    )  # fmt: skip
    subtitle = (
        "Threads share the server's GIL: the server waits for it each time it wakes. Processes have "
        "their own.\nDots drawn on top of each other hide how many there are; the bars on the right say "
        "where the time went."
    )
    fig.text(0.09, 1 - 0.35 / height, subtitle, fontsize=9.5, color="#333333", va="top")
    fig.text(0.01, 0.01, "\n".join(cap), fontsize=7.5, va="bottom", ha="left", color="#333333")
    return fig


def render(doc: dict, image_format: str) -> bytes:
    """The picture as PNG or SVG bytes."""
    if image_format not in FORMATS:
        raise UsageError(f"--plot draws .png or .svg files, not .{image_format}")
    require()
    import matplotlib

    style = {"svg.hashsalt": "poolbench-convoy", "svg.fonttype": "path", "font.family": "DejaVu Sans"}
    with matplotlib.rc_context(style):
        fig = figure(doc)
        out = io.BytesIO()
        metadata = {"Date": None} if image_format == "svg" else {"Software": "poolbench (matplotlib)"}
        fig.savefig(out, format=image_format, metadata=metadata)
    return out.getvalue()
