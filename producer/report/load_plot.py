"""``load``'s two pictures (matplotlib): the latency-throughput curve, and queue depth over one step.

1. p50 (dashed) and p99 (solid) against the achieved rate, one colour per backend,
   capacity marked as a vertical line with its interval shaded;
2. tasks outstanding (sent, not answered) and running, over the first saturated step of
   each backend (else its highest step): a queue that grows is a pool past its capacity.
"""

from __future__ import annotations

import io

from producer.errors import UsageError

FORMATS = ("png", "svg")
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")


def require() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise UsageError("--plot and --html need matplotlib: pip install 'poolbench[plot]'") from None


def timeline_step(result: dict) -> dict | None:
    steps = [s for s in result["steps"] if not s.get("refused")]
    saturated = [s for s in steps if not s["sustained"]]
    return (saturated or steps or [None])[0 if saturated else -1]


def figure(doc: dict):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, (curve, depth) = plt.subplots(1, 2, figsize=(13, 5.2))
    for n, result in enumerate(doc["results"]):
        colour = COLOURS[n % len(COLOURS)]
        steps = sorted(
            (s for s in result["steps"] if s["latency"]["p50"] is not None), key=lambda s: s["offered"]
        )
        x = [s["achieved"] for s in steps]
        curve.plot(
            x, [s["latency"]["p99"] for s in steps], "-o", color=colour, ms=4, label=f"{result['name']} p99"
        )
        curve.plot(
            x,
            [s["latency"]["p50"] for s in steps],
            "--s",
            color=colour,
            alpha=0.7,
            ms=3,
            mfc="none",
            label=f"{result['name']} p50",
        )
        c = result["capacity"]
        if c["value"] and c.get("saturated"):  # never saturated: no capacity to mark
            curve.axvline(c["value"], color=colour, lw=1, ls=":")
            if c.get("low") is not None and c.get("high") is not None:
                curve.axvspan(c["low"], c["high"], color=colour, alpha=0.12)
        step = timeline_step(result)
        if step:
            t = step["timeline"]
            label = f"{result['name']} at {step['offered']:g}/s"
            depth.plot(t["t"], t["outstanding"], color=colour, label=f"{label}: outstanding")
            depth.plot(t["t"], t["running"], color=colour, ls="--", alpha=0.7, label=f"{label}: running")
    s = doc["settings"]
    curve.set_yscale("log")
    curve.set_xlabel("achieved rate (tasks/s)")
    curve.set_ylabel("latency from intended send (s, log)")
    curve.set_title(
        f"latency against throughput: {s['workload']} size {s['size']:,}, C={s['concurrency']}\n"
        f"{s['arrivals']} arrivals, {s['duration']:g} s steps; dotted line and band: capacity [interval]",
        fontsize=9,
    )
    curve.grid(True, which="both", alpha=0.3)
    curve.legend(fontsize=7)
    depth.set_xlabel("seconds into the step")
    depth.set_ylabel("tasks")
    depth.set_title(  # refused steps are never shown here
        "queue depth over one step: each backend's first saturated step, else its highest", fontsize=9
    )
    depth.grid(True, alpha=0.3)
    depth.legend(fontsize=7)
    fig.tight_layout()
    return fig


def render(doc: dict, fmt: str = "png") -> bytes:
    from matplotlib import pyplot as plt

    fig = figure(doc)
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, dpi=110)
    plt.close(fig)
    return buffer.getvalue()
