"""``sweep --link-rtt``'s chart: throughput (left) and makespan (right) against the broker's
round trip, one line per series (each Celery backend, with and without --chunks).

The x axis is the round trip measured by the workers (their median PING), not the one
asked; each throughput point carries the range of its rounds (tasks over the slowest and
the fastest batch), each makespan point its IQR, as error bars. matplotlib is optional
(``pip install 'poolbench[plot]'``).
"""

from __future__ import annotations

import io

from producer.report.bars import spread


def render(doc: dict, *, fmt: str = "png", **_options) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sweep = doc["link_sweep"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5), dpi=110)
    for name, points in sweep["series"].items():
        shown = [p for p in points if p["throughput"] and p["rtt_measured_ms"] is not None]
        x = [p["rtt_measured_ms"] for p in shown]
        rate = [p["throughput"] for p in shown]
        lows = [p.get("throughput_low") for p in shown]
        highs = [p.get("throughput_high") for p in shown]
        left.errorbar(x, rate, yerr=spread(rate, lows, highs), marker="o", capsize=4, label=name)
        right.errorbar(
            x,
            [p["makespan_s"] * 1e3 for p in shown],
            yerr=[(p["makespan_iqr_s"] or 0) * 1e3 / 2 for p in shown],
            marker="o",
            capsize=4,
            label=name,
        )
    left.set(
        xlabel="broker RTT measured by the workers (ms)", ylabel="tasks/s (median batch, range of rounds)"
    )
    right.set(xlabel="broker RTT measured by the workers (ms)", ylabel="makespan, ms (median ±IQR/2)")
    left.set_title(f"throughput, {sweep['tasks']} tasks per batch", fontsize=10)
    right.set_title("makespan", fontsize=10)
    for ax in (left, right):
        ax.grid(True, alpha=0.3)
        ax.set_ylim(bottom=0)
    left.legend(fontsize=8)
    workload = doc.get("workload") or {}
    fig.suptitle(f"{workload.get('name')} size {workload.get('size')}: against the broker's round trip")
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format=fmt)
    plt.close(fig)
    return out.getvalue()
