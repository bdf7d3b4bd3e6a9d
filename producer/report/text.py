"""The terminal report: the answer on one screen, the details on request.

By default: a two-line header, the table, the verdict in a few lines, one line per
warning that changes how to read a number, and a last line pointing to the rest
(about 20 lines at 80 columns). ``verbose=1`` (``-v``) adds the full settings, the notes
and the workers' settings; ``verbose=2`` (``-vv``) the per-task breakdown and memory.
Every number printed carries its spread or its settings; start-up is shown on its own,
never inside a batch time. Warnings and notes are rendered by :mod:`messages` from the
document's data (plain strings, or coded records), never stored as layout.
"""

from __future__ import annotations

import textwrap

from producer.report import costs, messages, network, table
from producer.report.declared import through_broker
from producer.report.document import Document, Result, Verdict
from producer.report.labels import python_label
from producer.report.screen import (
    MORE,
    _one_line,
    short_header,
    short_verdict,
    warning_lines,
)
from producer.report.table import ms

BOLD, RED, GREEN, YELLOW, DIM, RESET = "\033[1m", "\033[31m", "\033[32m", "\033[33m", "\033[2m", "\033[0m"


def header_lines(doc: Document) -> list[str]:
    m, w, s = doc["machine"], doc["workload"], doc["settings"]
    lines = []
    stack = doc.get("stack")
    if stack and not stack.get("embedded") and s.get("broker_source") == "REDIS_URL":
        lines.append(
            f"using running workers via $REDIS_URL ({stack['broker']}); unset it to start a private "
            "Redis and workers"
        )
    pre = doc.get("preflight") or {}
    call = f" (one call {ms(pre['call_s'])})" if pre.get("call_s") else ""
    chosen = " (calibrated)" if pre.get("calibrated") else ""
    measured = (doc["results"][0].get("wall_s") or {}).get("n", 0)
    repeat = f"{measured} measured" + (" (auto)" if s["repeat"] == "auto" else "")
    lines += [
        f"{w['name']}, size {w['size']:,}{chosen}{call}; {s['tasks']} tasks, concurrency {s['concurrency']}",
        f"rounds: {repeat} + {s['warmup']} warm-up, interleaved; timeout {s['timeout']:g} s; "
        f"poolbench {doc['tool']['version']}",
        f"machine: {costs.machine_cpus(m)}, {python_label(m)}; "
        f"one malloc arena: {'yes' if s.get('malloc_arena_max') else 'no'}",
    ]
    if stack:
        lines.append("celery: " + _stack_line(doc, stack))
        lines.append("celery batches: " + costs.knobs(s))
        if rtt := network.rtt_line(doc):
            lines.append(rtt)
    return lines + python_lines(doc)


def python_lines(doc: Document) -> list[str]:
    """With --python: each interpreter, and its single-thread cost against the first."""
    groups = doc.get("pythons") or []
    lines = [
        f"python {g['label']}: {python_label(g['python'])} ({g['python'].get('executable')})" for g in groups
    ]
    costs = [
        f"{g['label']} {c['mid']:.2f}x [{c['low']:.2f}-{c['high']:.2f}]"
        for g in groups[1:]
        if (c := g.get("single_thread_cost"))
    ]
    if groups[1:] and costs:
        lines.append(
            f"single-thread cost against {groups[0]['label']}: {'; '.join(costs)} (each sequential "
            "baseline's time over the first's, paired by round, [95% interval])"
        )
    elif groups[1:]:
        lines.append(
            f"single-thread cost against {groups[0]['label']}: not measured (a baseline failed, or was short)"
        )
    return lines


def _stack_line(doc: Document, stack: dict) -> str:
    served = ", ".join(
        f"{r['pool'] if not r.get('group') else r['backend']}: {r['settings'].get('workers')} worker(s), "
        f"concurrency {r['concurrency']}"
        for r in doc["results"]
        if through_broker(r)
    )
    if stack.get("embedded"):
        started = f"{stack['startup_s']:.2f} s"
        return f"embedded Redis and workers started in {started} (outside every batch); {served}"
    return f"running workers via {stack['broker']}; {served}"


def _flag(value) -> str:
    return (
        "unknown" if value is None else ("on" if value is True else "off" if value is False else str(value))
    )


def worker_settings(r: Result) -> str:
    """A broker row's workers' real settings, as they reported them."""
    s = r["settings"]
    return (
        f"{s.get('workers')} worker(s) on queue '{s.get('queue')}', prefetch multiplier "
        f"{_flag(s.get('prefetch_multiplier'))} (prefetch count {_flag(s.get('prefetch_count'))}), "
        f"acks_late {_flag(s.get('acks_late'))}, mingle {_flag(s.get('mingle'))}, "
        f"gossip {_flag(s.get('gossip'))}, "
        f"task events {_flag(s.get('task_events'))}; tasks ran on {python_label(r['python'])}"
    )


def note_lines(doc: Document, verbose: int = 2) -> list[str]:
    """Every note under the table: problems, warnings, the workers' settings; with
    ``verbose`` 2 (the HTML and Markdown reports, ``-vv``) the per-task breakdown and memory too."""
    notes = [f"did not run on {g['label']}: {why}" for g in doc.get("pythons") or [] for why in g["skipped"]]
    for r in doc["results"]:
        notes += [f"{r['backend']}: {messages.render(p)}" for p in r["problems"]]
        notes += [f"{r['backend']}: {messages.render(w)}" for w in r["warnings"] + r["caveats"]]
        if through_broker(r):
            line = f"{r['backend']}: {worker_settings(r)}"
            if cpus := costs.worker_cpus(r):
                line += f"; {cpus}"
            if verbose >= 2 and r.get("queue_wait_s") and r.get("task_run_s") and not r.get("breakdown"):
                q, t = r["queue_wait_s"], r["task_run_s"]
                line += (
                    f"; per task, queue wait {ms(q['median'])} (IQR {ms(q['iqr'])}), "
                    f"run {ms(t['median'])} (IQR {ms(t['iqr'])})"
                )
            notes.append(line)
            if verbose >= 2 and (parts := costs.breakdown_line(r)):
                notes.append(parts)
    if verbose >= 2 and (memory := costs.memory_line(doc)):
        notes.append(memory)
    return notes


LEGEND = (
    "time = median batch wall time, ±IQR/2; speedup = geometric mean of the per-round ratios "
    "baseline/backend, [95% confidence interval]; CPU/wall = cores kept busy (ᵗ: from the tasks' own "
    "CPU time, for workers outside this machine's process tree); * = see the notes below"
)


def sweep_lines(doc: Document) -> list[str]:
    """For a sweep: where each backend's scaling stops, against the ideal line."""
    sweep = doc.get("sweep")
    if not sweep:
        return []
    cpus = doc["machine"].get("cpus_usable")
    lines = []
    for name, stop in sweep["stops"].items():
        points = sweep["series"][name]
        shown = ", ".join(
            f"{p['label'].split(' ', 1)[1]} {p['speedup']:.2f}x (ideal {p['ideal']:.3g})"
            for p in points
            if p["speedup"] is not None
        )
        at = stop["at"].split(" ", 1)[-1] if stop["at"] else None
        where = f"scaling stops at {at} ({stop['speedup']:.2f}x)" if at else stop["reason"]
        lines.append(
            f"{name}: {shown or 'no point measured'}; {where}" + (f": {stop['reason']}" if stop["at"] else "")
        )
    lines.append(
        f"ideal = min(concurrency x workers, tasks, the {cpus} usable CPUs / the baseline's CPU share)"
    )
    return lines


def verdict_sentences(doc: Document) -> list[str]:
    failed = [r["backend"] for r in doc["results"] if not r["ok"]]
    out = [f"{', '.join(failed)} failed (see the problems above); its numbers say nothing."] if failed else []
    if doc.get("pythons"):
        for g in doc["pythons"]:
            said = _said(g["verdict"])
            out += [f"On {g['label']} ({python_label(g['python'])}): {said[0]}", *said[1:]]
        return out
    return out + _said(doc.get("verdict"))


def _said(v: Verdict | None) -> list[str]:
    out: list[str] = []
    if not v:
        return out
    if v["kind"] == "undecided":
        out.append(f"Undecided: {messages.render(v['reason'])}.")
    else:
        sure = "" if v["confidence"] == "high" else f" (confidence {v['confidence']}: see below)"
        out.append(f"This work is {v['kind']}{sure}: {messages.render(v['reason'])}.")
    for family, pick in v["recommend"].items():
        if pick and family == "local":
            out.append(f"Locally, use {pick}.")
        elif pick:
            out.append(f"In {family.capitalize()}, pick the {pick} pool.")
    out += [messages.render(note) for note in v.get("notes", [])]
    return out


def _paint(line: str, color: bool) -> str:
    if not color:
        return line
    if "FAILED" in line or " NO" in line:
        return RED + line + RESET
    if "(unstable)" in line:
        return YELLOW + line + RESET
    return line


SCREEN = 24
"""Lines the default report aims to fit in (a terminal's height), warnings cut to make room."""


def render(
    doc: Document,
    *,
    wide: bool = False,
    width: int = 80,
    color: bool = False,
    verbose: int = 0,
    **_options,
) -> str:
    lines = table.ruled(*table.rows(doc, wide=wide))
    if color:
        lines[0] = BOLD + lines[0] + RESET
        lines[2:] = [_paint(line, True) for line in lines[2:]]
    fill = max(40, width - 1)

    def wrap(text: str, indent: str = "  ") -> list[str]:
        return textwrap.wrap(text, fill, subsequent_indent=indent) or [""]

    def paint(said: list[str]) -> list[str]:
        return [GREEN + s + RESET for s in said] if color else said

    if verbose:
        out = [part for line in header_lines(doc) for part in wrap(line)] + [""] + lines + [""]
        notes = [LEGEND, *note_lines(doc, verbose), *sweep_lines(doc)]
        out += [part for note in notes for part in wrap(note)] + [""]
        if link := network.link_sweep_lines(doc):  # a sentence, then a table that is not wrapped
            out += [*wrap(link[0]), *link[1:], ""]
        out += paint([part for sentence in verdict_sentences(doc) for part in wrap(sentence, "")])
        if verbose < 2:
            out.append("more: -vv per-task costs and memory; --html FILE everything")
        return "\n".join(out) + "\n"
    out = [part for line in short_header(doc) for part in wrap(line)] + [""] + lines + [""]
    out += [part for line in sweep_lines(doc) for part in wrap(line)]
    out += paint([part for sentence in short_verdict(doc) for part in wrap(sentence, "")])
    warned = warning_lines(doc)
    if warned:
        room = max(2, SCREEN - len(out) - 2, 0)  # a blank line before them, MORE after
        shown = warned if len(warned) <= room else warned[: room - 1]
        out += ["", *[_one_line(line, fill) for line in shown]]
        if len(shown) < len(warned):
            out.append(f"and {len(warned) - len(shown)} more warnings (-v)")
    out.append(MORE)
    return "\n".join(out) + "\n"
