"""What each task cost and what each backend held, as short lines of text (issue 12).

The terminal report (:mod:`producer.report.text`) prints these under its table;
the table's wide columns show the memory peaks. Every figure
comes with its spread: IQR and p90 for the per-task parts, the range over batches
for the memory peaks.
"""

from __future__ import annotations

from producer.measure.breakdown import LABELS
from producer.report import network
from producer.report.document import Document, Result
from producer.report.table import mib, ms, peak_rss

ORDER = ("publish_s", "queue_wait_s", "dispatch_s", "run_s", "result_back_s")


def _part(label: str, s: dict) -> str:
    return f"{label} {ms(s['median'])} (IQR {ms(s['iqr'])}, p90 {ms(s['p90'])})"


def breakdown_line(r: Result) -> str | None:
    """``celery-prefork per task (median, IQR, p90): publish ..., queue ..., ...``"""
    b = r.get("breakdown")
    if not b:
        return None
    parts = [_part(LABELS[key], b[key]) for key in ORDER if key in b]
    if "result_back_s" not in b:
        parts.append("result back: none (--no-result)")
    line = f"{r['backend']} per task, median (IQR, p90): " + ", ".join(parts)
    if "slot_gap_s" in b:
        line += f"; a pool slot idled {_part('', b['slot_gap_s']).strip()} between tasks"
    if b["messages"] != b["calls"]:
        line += f"; {b['calls']} calls in {b['messages']} messages"
    if network_part := network.share(r):
        line += f"; {network_part}"
    hosts = b.get("hosts") or []
    if b.get("clock") == "one host":
        line += "; timestamps from one host's clock"
    else:
        line += (
            f"; timestamps from {len(hosts)} host(s) ({', '.join(hosts[:3])}): clocks of different "
            "machines may differ, which shifts queue and result back (containers share their host's clock)"
        )
    return line


def memory_line(doc: Document) -> str | None:
    """``memory at concurrency N (peak RSS, range over batches; USS): ...``"""
    parts = []
    for r in doc["results"]:
        m = r.get("memory")
        if not m:
            continue
        if m.get("unknown"):
            parts.append(f"{r['backend']} unknown ({m['unknown']})")
            continue
        if not m.get("peak_rss_bytes"):
            continue
        count = m.get("processes") or 0
        uss = f", USS {mib(m['peak_uss_bytes'])}" if m.get("peak_uss_bytes") else ""
        parts.append(f"{r['backend']} {peak_rss(r)}{uss} in {count} process{'es' if count != 1 else ''}")
    if not parts:
        return None
    interval = next((r["memory"].get("interval_s") for r in doc["results"] if r.get("memory")), None)
    every = f", sampled every {interval * 1000:.0f} ms" if interval else ""
    return (
        f"memory at concurrency {doc['settings']['concurrency']} (peak RSS, range over batches; "
        f"USS where readable{every}): " + "; ".join(parts)
    )


def knobs(settings: dict) -> str:
    """How Celery batches travelled: calls per message, prefetch asked for, results."""
    chunks = settings.get("chunks") or 1
    calls = "1 call per message" if chunks == 1 else f"{chunks} calls per message (Celery chunks)"
    prefetch = settings.get("prefetch")
    asked = f"prefetch multiplier {prefetch} asked of the embedded workers" if prefetch else None
    results = (
        "no result backend (--no-result: tasks report to a per-batch Redis hash)"
        if settings.get("no_result")
        else "results through the Redis result backend"
    )
    return "; ".join(part for part in (calls, asked, results) if part)


def machine_cpus(machine: dict) -> str:
    """``2 CPUs (AMD EPYC; affinity 2, no cgroup CPU quota)``, or with the quota and its file."""
    usable = machine.get("cpus_usable") or machine.get("cpu_count") or 1
    quota = machine.get("cpu_quota")
    affinity = machine.get("cpus_affinity", usable)
    model = machine.get("cpu_model") or "unknown CPU"
    noun = "CPU" if usable == 1 else "CPUs"
    if quota:
        return f"{usable:g} {noun} usable ({model}; affinity {affinity}, CPU quota from {quota['source']})"
    return f"{usable:g} {noun} ({model}; affinity {affinity}, no cgroup CPU quota)"


def worker_cpus(r: Result) -> str | None:
    """The CPUs and quota the workers say they may use, e.g. a compose ``cpus:`` override."""
    cpus = [info.get("cpus") for info in (r["settings"].get("nodes") or {}).values()]
    cpus = [c for c in cpus if isinstance(c, dict)]
    if not cpus:
        return None
    quotas = sorted({c.get("quota") for c in cpus}, key=lambda q: (q is None, q or 0))
    affinity = sorted({c.get("affinity") for c in cpus if c.get("affinity")})
    quota = ", ".join("none" if q is None else f"{q:g} CPU" for q in quotas)
    return f"workers' CPUs: affinity {', '.join(map(str, affinity))}, cgroup quota {quota}"
