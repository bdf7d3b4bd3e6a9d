"""The sweep's chart: speedup against concurrency (or workers) per backend, with the ideal line.

Each point is the geometric mean of the per-round speedups with its 95% interval as an
error bar; the dashed line is the ideal each point's result carries (:mod:`producer.measure.ideal`).
matplotlib is an optional extra (``pip install 'poolbench[plot]'``).
"""

from __future__ import annotations

import io

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
    for key, points in lines.items():
        shown = [p for p in points if p["speedup"] is not None]
        ax.errorbar(
            [p[axis] for p in shown],
            [p["speedup"] for p in shown],
            yerr=[[p["speedup"] - p["low"] for p in shown], [p["high"] - p["speedup"] for p in shown]],
            marker="o",
            capsize=4,
            label=key,
        )
        for p in points:
            ideal[p[axis]] = max(ideal.get(p[axis], 0), p["ideal"])
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
    ax.legend(fontsize=8)
    ax.grid(True, alpha=0.3)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    out = io.BytesIO()
    fig.savefig(out, format=fmt)
    plt.close(fig)
    return out.getvalue()
