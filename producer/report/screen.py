"""The default screen's parts: the answer in about 20 lines (``poolbench compare`` without -v).

A two-line header (a third in a Celery run: the broker's round trip), the verdict without
its notes, and one line per warning that changes how to read a number;
:mod:`producer.report.text` lays them out around the table.
Warnings and notes are plain strings or coded records ``{"code", "severity", ...}``,
said by :func:`producer.report.messages.render`; severity ``warn`` (or ``error``) is shown
by default, ``note`` waits for -v.
"""

from __future__ import annotations

import re

from producer.report import messages, network
from producer.report.document import Document
from producer.report.labels import python_label
from producer.report.table import ms


def _severity(item, default: str) -> str:
    return item.get("severity", default) if isinstance(item, dict) else default


def _shown_by_default(item, default: str = "warn") -> bool:
    """Warnings that change how to read a number; notes wait for -v."""
    return _severity(item, default) in ("warn", "error")


def warning_lines(doc: Document) -> list[str]:
    """What the default screen shows under the verdict: failures and warnings, no notes."""
    out = [f"did not run on {g['label']}: {why}" for g in doc.get("pythons") or [] for why in g["skipped"]]
    out += [f"{r['backend']}: {messages.render(p)}" for r in doc["results"] for p in r["problems"]]
    items = [(r["backend"], i) for r in doc["results"] for i in [*r["warnings"], *r["caveats"]]]
    out += grouped_warnings([(b, i) for b, i in items if _shown_by_default(i)])
    verdicts = [g["verdict"] for g in doc.get("pythons") or []] or [doc.get("verdict")]
    for v in filter(None, verdicts):
        out += [messages.render(n) for n in v.get("notes", []) if _shown_by_default(n, "note")]
    return out


def short_header(doc: Document) -> list[str]:
    """Two lines: what ran, and on what (the machine's load beside it)."""
    m, w, s = doc["machine"], doc["workload"], doc["settings"]
    pre = doc.get("preflight") or {}
    call = f", {ms(pre['call_s'])} a call" if pre.get("call_s") else ""
    chosen = " (calibrated)" if pre.get("calibrated") else ""
    measured = (doc["results"][0].get("wall_s") or {}).get("n", 0)
    auto = " auto" if s["repeat"] == "auto" else ""  # "17 auto rounds": --repeat auto chose 17
    others = ((doc.get("load") or {}).get("others_during_cores") or {}).get("median")
    load = f"; others {others:.1f} CPU" if others is not None else ""
    stack = doc.get("stack")
    first = []
    if stack and not stack.get("embedded") and s.get("broker_source") == "REDIS_URL":
        first.append(  # the environment chose these workers, not a flag: said before anything else
            f"using running workers via $REDIS_URL ({stack['broker']}); unset it to start a private "
            "Redis and workers"
        )
    rtt = network.short_line(doc)  # Celery runs only: the broker's round trip, in one line
    return first + [
        f"{w['name']} size {w['size']:,}{chosen}{call}; {s['tasks']} tasks, concurrency {s['concurrency']}; "
        f"{measured}{auto} round{'' if measured == 1 else 's'}",
        f"{m.get('cpus_usable')} CPUs, {python_label(m)}{load}; poolbench {doc['tool']['version']}",
        *([rtt] if rtt else []),
    ]


def _is_next_step(note) -> bool:
    """The note of an undecided verdict that says what to run next."""
    if isinstance(note, dict):
        return "decide" in note.get("code", "") or "next" in note.get("code", "")
    return note.startswith("To decide")


def grouped_warnings(items: list[tuple[str, object]]) -> list[str]:
    """``backend: warning`` lines; the same warning on several backends is one line, its topic and
    the backends, with the numbers left to -v (each backend's differ)."""
    groups: dict[str, list[tuple[str, object]]] = {}
    for backend, item in items:
        said = messages.render(item)
        key = item["code"] if isinstance(item, dict) else re.sub(r"\d+(\.\d+)?", "…", said.split("; ")[0])
        groups.setdefault(key, []).append((backend, said))
    out = []
    for key, members in groups.items():
        if len(members) == 1:
            out.append(f"{members[0][0]}: {members[0][1]}")
        else:
            names = ", ".join(dict.fromkeys(b for b, _ in members))
            topic = re.sub(r"\s*\([^)]*\)", "", key.split(": ")[0]).removeprefix("… ")
            out.append(f"{topic}: {names}")
    return out


def short_verdict(doc: Document) -> list[str]:
    """The verdict's kind, reason and picks, without its notes."""
    failed = [r["backend"] for r in doc["results"] if not r["ok"]]
    out = [f"{', '.join(failed)} failed (see below); its numbers say nothing."] if failed else []
    groups = doc.get("pythons") or [{"label": None, "verdict": doc.get("verdict")}]
    for g in groups:
        v = g["verdict"]
        if not v:
            continue
        on = f"On {g['label']}: " if g["label"] else ""
        if v["kind"] == "undecided":
            out.append(f"{on}Undecided: {messages.render(v['reason'])}.")
            out += [messages.render(n) for n in v.get("notes", []) if _is_next_step(n)][:1]
            continue
        sure = "" if v["confidence"] == "high" else f" (confidence {v['confidence']}, -v says why)"
        out.append(f"{on}This work is {v['kind']}{sure}: {messages.render(v['reason'])}.")
        local = v["recommend"].get("local")
        picks = [f"Locally, use {local}."] if local else []
        picks += [
            f"In {family.capitalize()}, pick the {pool} pool."
            for family, pool in v["recommend"].items()
            if family != "local" and pool
        ]
        out.append(" ".join(picks) or "No backend is recommended (-v says why).")
    return out


MORE = "more: -v notes, workers' settings; -vv per-task costs, memory; --html FILE all"


def _one_line(text: str, fill: int) -> str:
    """The warning in one line: whole, or cut after its last complete clause (``;``), or clipped."""
    if len(text) <= fill:
        return text
    clause = text[: fill - 2].rfind("; ")
    if clause > fill // 2:
        return text[:clause] + " …"
    return text[: fill - 1].rstrip() + "…"
