"""The terminal report of ``convoy``: its settings, a table, and what the table shows.

Every number carries its spread: the median round trip with half its IQR over every
round trip; the p99 and requests/s as the median over rounds with their range; each
ratio against no load as the geometric mean of the per-round ratios with its 95%
interval. Reads only the document.
"""

from __future__ import annotations

import textwrap

from producer.report.labels import python_label
from producer.report.table import ms, ruled

LEGEND = (
    "median = of every round trip, ±IQR/2; p99 and requests/s = median over rounds (min-max); "
    "vs none = geometric mean of the per-round ratios to the no-load condition [95% interval]"
)


def label(condition: dict) -> str:
    """'no load', '1 thread', '2 processes'."""
    kind, n = condition["condition"], condition["tasks"]
    if kind == "idle":
        return "no load"
    singular = {"threads": "thread", "processes": "process"}[kind]
    return f"{n} {kind if n != 1 else singular}"


def _count(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 else f"{value:.1f}"


def fine(seconds: float) -> str:
    """A duration as ``ms`` gives it, with a decimal under 100 µs (round trips are that short)."""
    return f"{seconds * 1e6:.1f} µs" if seconds < 1e-4 else ms(seconds)


def times(value: float) -> str:
    """A ratio with the precision it deserves: 1,230, 45.6, 1.23, 0.012."""
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    if value >= 0.1:
        return f"{value:.2f}"
    return f"{value:.2g}"


def _interval(ratio: dict) -> str:
    return f" [{times(ratio['low'])}-{times(ratio['high'])}]" if ratio["low"] is not None else ""


def _ratio(ratio: dict, reference: bool) -> str:
    return "1 (reference)" if reference else f"{times(ratio['mid'])}x{_interval(ratio)}"


def rows(doc: dict) -> tuple[list[str], list[list[str]]]:
    titles = ["condition", "median", "p99 (min-max)", "requests/s (min-max)", "p99 vs none", "req/s vs none"]
    cells = []
    for c in doc["conditions"]:
        lat, p99, rps = c["latency_s"], c["p99_s"], c["requests_per_s"]
        idle = c["condition"] == "idle"
        cells.append(
            [
                label(c),
                f"{fine(lat['median'])} ±{fine(lat['iqr'] / 2)}",
                f"{ms(p99['median'])} ({ms(p99['min'])}-{ms(p99['max'])})",
                f"{_count(rps['median'])} ({_count(rps['min'])}-{_count(rps['max'])})",
                _ratio(c["vs_idle"]["p99"], idle),
                _ratio(c["vs_idle"]["requests_per_s"], idle),
            ]
        )
    return titles, cells


def header(doc: dict) -> list[str]:
    s, m = doc["settings"], doc["machine"]
    rounds = f"{s['rounds']} round{'s' if s['rounds'] != 1 else ''}"
    return [
        f"poolbench {doc['tool']['version']} convoy: round trips to an echo server thread of this process "
        f"({s['transport']}, {s['message_bytes']}-byte messages), the client in a process of its own",
        f"load: {s['tasks']} CPU-bound task{'s' if s['tasks'] != 1 else ''} ({s['load']}), as threads "
        "beside the server, or as processes",
        f"rounds: {rounds} x {s['duration']:g} s per condition, interleaved ({', '.join(s['conditions'])}); "
        f"{s['warmup_s']:g} s warm-up; timeout {s['timeout']:g} s",
        f"machine: {m['cpus_usable']} CPUs ({m.get('cpu_model') or 'unknown CPU'}), {python_label(m)}; "
        f"switch interval {s['switch_interval_s'] * 1000:g} ms",
    ]


def _load_line(doc: dict) -> str:
    parts = []
    for c in doc["conditions"]:
        if c["condition"] != "idle":
            chunks = c["load_chunks_per_s"]
            parts.append(
                f"{label(c)} {_count(chunks['median'])} chunks/s ({_count(chunks['min'])}-"
                f"{_count(chunks['max'])})"
            )
    by = {c["condition"]: c["load_chunks_per_s"]["median"] for c in doc["conditions"]}
    line = "the load ran: " + ", ".join(parts) + " in all (median over rounds, min-max)"
    if by["threads"] > 0:
        line += (
            f"; processes got through {by['processes'] / by['threads']:.2g}x the work of threads (the "
            "server and its client share the CPUs with the load: the more requests served, the less "
            "CPU is left for it)"
        )
    return line


def _median_clause(idle: dict, threads: dict) -> str:
    before, after = fine(idle["latency_s"]["median"]), fine(threads["latency_s"]["median"])
    if threads["vs_idle"]["median"]["mid"] < 2:
        return (
            f"Often it gets the GIL straight back, which is why the median round trip barely moved "
            f"({after} against {before}): the cost is in the tail and in the requests not served."
        )
    return f"Its median round trip rose too, from {before} to {after}."


def sentences(doc: dict) -> list[str]:
    """What the table shows, in words, from the document's numbers."""
    by = {c["condition"]: c for c in doc["conditions"]}
    idle, threads, procs = by["idle"], by["threads"], by["processes"]
    f = doc["finding"]
    ratio = f["processes_vs_threads_requests"]
    interval = _interval(ratio) or " (one round: no interval)"
    switch = f"{doc['settings']['switch_interval_s'] * 1000:g} ms"

    def p99(c):
        return ms(c["p99_s"]["median"])

    def rps(c):
        return _count(c["requests_per_s"]["median"])

    said = [
        f"Beside {label(threads)} the server answered {rps(threads)} requests/s instead of {rps(idle)}, "
        f"with a p99 round trip of {p99(threads)} instead of {p99(idle)}; beside {label(procs)} it "
        f"answered {rps(procs)} requests/s with a p99 of {p99(procs)}: {times(ratio['mid'])}x{interval} "
        "the requests it answered beside threads, though the processes ran the same CPU-bound work."
    ]
    if f["kind"] == "convoy":
        said.append(
            "This is the GIL convoy: each time the server thread wakes for a request, or returns from "
            "sending a reply, it needs the GIL back, and when a CPU-bound thread has taken it, the "
            f"server waits a whole switch interval ({switch}), or one per thread ahead of it. "
            + _median_clause(idle, threads)
            + " Processes have a GIL each. A Celery threads-pool worker running CPU-bound tasks "
            "answers heartbeats and acks just as late; the prefork pool does not."
        )
    elif f["kind"] == "no-convoy":
        gil = doc["machine"].get("gil_enabled")
        why = (
            "this interpreter runs without the GIL, so threads run Python in parallel as processes do"
            if gil is False
            else "the server thread was not held up by the GIL more than by a busy CPU"
        )
        said.append(f"No GIL convoy here: {why}.")
    else:
        said.append(
            "Unclear: the rounds disagree on whether threads delay the server more than processes do; "
            "run more --rounds or a longer --duration, on a quieter machine."
        )
    return said


def render(doc: dict, *, width: int = 80, **_options) -> str:
    lines = ruled(*rows(doc))
    fill = max(40, width - 1)

    def wrap(text: str, indent: str = "  ") -> list[str]:
        return textwrap.wrap(text, fill, subsequent_indent=indent) or [""]

    out = [part for line in header(doc) for part in wrap(line)] + [""] + lines + [""]
    out += wrap(LEGEND) + wrap(_load_line(doc)) + [""]
    out += [part for sentence in sentences(doc) for part in wrap(sentence, "")]
    return "\n".join(out) + "\n"
