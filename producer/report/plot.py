"""Pictures of a run: a timeline of one round per backend, and the speedups. PNG or SVG.

The timeline puts each task on the thread, process or broker's worker that ran it, and
fills each bar to the share of its wall time that was spent on a CPU. Threads under
the GIL overlap in time but their bars are mostly empty (they take turns); processes
overlap with full bars; a brokered task's queue wait is the hatched strip before its bar.
Colours follow each backend's declared model and where it ran, never its name.

matplotlib is an optional extra (``pip install 'poolbench[plot]'``), imported only here,
with the Agg canvas and fixed metadata, so the same document gives the same file.
"""

from __future__ import annotations

import importlib.util
import io
import textwrap

from producer.errors import UsageError
from producer.report import kinds, lanes
from producer.report.declared import through_broker
from producer.report.document import Document
from producer.report.labels import python_label
from producer.report.speedup_chart import draw_speedup
from producer.report.timeline_chart import draw_timeline, timeline_height

FORMATS = ("png", "svg")
MISSING = "needs matplotlib: pip install 'poolbench[plot]'"
WIDTH_IN = 11.0


def available() -> bool:
    """Whether matplotlib is installed, found without importing it: importing it loads NumPy
    and its BLAS into the producer, which the preflight would then count as the workload's."""
    try:
        return importlib.util.find_spec("matplotlib") is not None
    except (ImportError, ValueError):
        return False


def require(flag: str) -> None:
    """Raise the one-line error for ``flag`` when matplotlib is missing."""
    if not available():
        raise UsageError(f"{flag} {MISSING}")


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="none")


def caption(doc: Document) -> str:
    m, w, s = doc["machine"], doc["workload"], doc["settings"]
    parts = [
        f"Machine: {m.get('cpus_usable')} CPUs ({m.get('cpu_model') or 'unknown CPU'}), "
        f"{m.get('platform', '')}; {python_label(m)}.",
        f"Workload {w['name']} (size {w['size']:,}, {kinds.word(w.get('kind'))}): {s['tasks']} tasks "
        f"per batch, concurrency "
        f"{s['concurrency']}, {s['repeat']} measured + {s['warmup']} warm-up rounds, interleaved.",
    ]
    for r in doc["results"]:
        if through_broker(r):
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
    lines = lanes.timelines(doc)
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
    if doc.get("link_sweep") and chart == "all":  # sweep --link-rtt: against the round trip
        from producer.report import link_sweep_chart

        return link_sweep_chart.render(doc, fmt=image_format)
    if doc.get("sweep") and chart == "all":  # a sweep's picture is its scaling chart
        from producer.report import sweep_chart

        return sweep_chart.render(doc, fmt=image_format)
    import matplotlib

    style = {"svg.hashsalt": f"poolbench-{chart}", "svg.fonttype": "path", "font.family": "DejaVu Sans"}
    with matplotlib.rc_context(style):
        fig = figure(doc, chart)
        out = io.BytesIO()
        metadata = {"Date": None} if image_format == "svg" else {"Software": "poolbench (matplotlib)"}
        fig.savefig(out, format=image_format, metadata=metadata)
    return out.getvalue()
