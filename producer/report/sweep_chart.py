"""The sweep's chart: speedup against concurrency (or workers) per backend, with the ideal line.

Each point is the geometric mean of the per-round speedups with its 95% interval as an
error bar; the dashed line is the ideal each point's result carries (:mod:`producer.measure.ideal`).
A point that could not be measured is not drawn, and the chart says which and why
(too short, failed, too few rounds); a chart with no point at all says so in its middle.
matplotlib is an optional extra (``pip install 'poolbench[plot]'``).
"""

from __future__ import annotations

import io

from producer.report import missing
from producer.report.bars import spread
from producer.report.document import Document


def render(doc: Document, *, fmt: str = "png", **_options) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sweep = doc["sweep"]
    axis = sweep["axis"]
    fig, ax = plt.subplots(figsize=(8, 5), dpi=110)
    lines: dict[str, list[dict]] = {}
    for name, points in sweep["series"].items():
        for p in points:
            if axis == "workers" and p["workers"] is None:
                continue  # a local backend has no workers to count
            key = f"{name}, concurrency {p['concurrency']}" if axis == "workers" else name
            lines.setdefault(key, []).append(p)
    ideal: dict[int, float] = {}
    results = {r["backend"]: r for r in doc["results"]}
    absent: list[tuple[str, str]] = []
    for key, points in lines.items():
        shown = [p for p in points if p["speedup"] is not None]
        absent += [(p["label"], missing.reason(results.get(p["label"]))) for p in points if p not in shown]
        for p in points:
            ideal[p[axis]] = max(ideal.get(p[axis], 0), p["ideal"])
        if not shown:
            continue
        ax.errorbar(
            [p[axis] for p in shown],
            [p["speedup"] for p in shown],
            yerr=spread([p["speedup"] for p in shown], [p["low"] for p in shown], [p["high"] for p in shown]),
            marker="o",
            capsize=4,
            label=key,
        )
    xs = sorted(ideal)
    ax.plot(
        xs,
        [ideal[x] for x in xs],
        "k--",
        linewidth=1,
        label="ideal: min(C x workers, tasks, CPUs / CPU share)",
    )
    ax.axhline(1.0, color="grey", linewidth=0.8)
    ax.set_xscale("log", base=2)
    ax.set_xticks(xs, [str(x) for x in xs])
    ax.set_ylim(bottom=0)
    ax.set_xlabel(
        "embedded worker processes per pool"
        if axis == "workers"
        else "concurrency (threads, processes, pool size)"
    )
    ax.set_ylabel("speedup over the sequential baseline (x)")
    w, m = doc["workload"], doc["machine"]
    gil = "GIL enabled" if m.get("gil_enabled") else "GIL disabled"
    ax.set_title(f"{w['name']} (size {w['size']:,}), {doc['settings']['tasks']} tasks per batch")
    fig.text(
        0.01,
        0.01,
        f"{m['cpus_usable']} CPUs ({m.get('cpu_model') or 'unknown CPU'}), {m['python_implementation']} "
        f"{m['python_version']}, {gil}; error bars: 95% interval of the per-round speedups",
        fontsize=7,
        color="dimgrey",
    )
    if absent:
        drawn = len(absent) < sum(len(points) for points in lines.values())
        ax.text(
            0.5,
            0.97 if drawn else 0.5,
            ("" if drawn else "No point measured well enough to draw.\n") + missing.sentence(absent, 80),
            transform=ax.transAxes,
            ha="center",
            va="top" if drawn else "center",
            fontsize=8 if drawn else 10,
            color="#8b0000",
            gid="not-drawn",
            bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "none"},
        )
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(True, alpha=0.3)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    out = io.BytesIO()
    fig.savefig(out, format=fmt)
    plt.close(fig)
    return out.getvalue()
