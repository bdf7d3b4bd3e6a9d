"""The human report: settings first, then the table, then what the numbers say.

Every number printed carries its spread or its settings; start-up is shown on its
own line, never inside a batch time.
"""

from __future__ import annotations

import textwrap

from producer.verdict import verdict


def _ms(seconds: float) -> str:
    if seconds < 0.01:
        return f"{seconds * 1000:.2f} ms"
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def _header(doc: dict) -> list[str]:
    m, w, s = doc["machine"], doc["workload"], doc["settings"]
    gil = "GIL enabled" if m["gil_enabled"] else "GIL disabled (free-threaded)"
    lines = [
        f"poolbench {doc['tool']['version']}: workload {w['name']} (size {w['size']:,}, {w['kind']}), "
        f"{s['tasks']} tasks per batch, concurrency {s['concurrency']}",
        f"rounds: {s['repeat']} measured + {s['warmup']} warm-up, interleaved across backends; "
        f"timeout {s['timeout']:g} s",
        f"machine: {m['cpus_usable']} CPUs ({m['cpu_model'] or 'unknown CPU'}), {m['python_implementation']} "
        f"{m['python_version']}, {gil}; one malloc arena: {'yes' if s.get('malloc_arena_max') else 'no'}",
    ]
    stack = doc.get("stack")
    if stack:
        lines.append(f"celery: {stack['summary']}")
        celery = next((r["settings"] for r in doc["results"] if "pool" in r["settings"]), None)
        if celery:
            off = [k.replace("_", " ") for k in ("task_events", "mingle", "gossip") if not celery.get(k)]
            lines.append(
                f"        every pool: prefetch multiplier {celery['prefetch_multiplier']}, "
                f"acks_late {celery['acks_late']}, reject_on_worker_lost {celery['reject_on_worker_lost']}, "
                f"result backend {celery['result_backend']}, {', '.join(off)} off, "
                f"worker concurrency = --concurrency"
            )
    return lines


def _row(r: dict) -> list[str]:
    name = r["backend"]
    if not r["wall_s"]:
        return [name, str(r["concurrency"]), "-", "-", "-", "-", "-", "FAILED"]
    wall = r["wall_s"]
    spread = f"{_ms(wall['median'])} ±{_ms(wall['iqr'] / 2)} ({_ms(wall['min'])}-{_ms(wall['max'])})"
    sp = r["speedup"]
    if sp and sp["paired"] and name != "sequential":
        speed = f"{sp['median']:.2f}x ({sp['paired']['min']:.2f}-{sp['paired']['max']:.2f})"
    elif sp:
        speed = f"{sp['median']:.2f}x (baseline)"
    else:
        speed = "-"
    eff = r["efficiency"]
    eff_s = "-"
    if eff and sp["paired"] and name != "sequential":
        n = eff["parallelism"]
        eff_s = f"{eff['value']:.0%} ({sp['paired']['min'] / n:.0%}-{sp['paired']['max'] / n:.0%}) of {n}"
    elif eff:
        eff_s = f"{eff['value']:.0%} of {eff['parallelism']}"
    util = f"{r['cpu_util']['median']:.2f} ±{r['cpu_util']['iqr'] / 2:.2f}"
    if r.get("cpu_source") == "tasks":
        util += " (tasks)"
    verified = "yes" if r["ok"] else "NO"
    if r["warnings"]:
        verified += " (unstable)"
    conc = str(r["concurrency"])
    workers = r["settings"].get("workers")
    if workers:
        conc += f" ({workers} worker{'s' if workers > 1 else ''})"
    return [name, conc, spread, speed, eff_s, util, _ms(r["startup_s"] or 0.0), verified]


HEAD = [
    "backend",
    "conc.",
    "wall median ±IQR/2 (min-max)",
    "speedup (range)",
    "efficiency",
    "CPU/wall",
    "start-up (once)",
    "verified",
]


def render(doc: dict) -> str:
    rows = [HEAD] + [_row(r) for r in doc["results"]]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEAD))]
    table = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    table.insert(1, "  ".join("-" * w for w in widths))
    notes = [
        "speedup = sequential median / backend median of batch wall time (start-up excluded); "
        "range = min-max of per-round ratios",
        "efficiency = speedup / min(concurrency, tasks, CPUs); CPU/wall = cores kept busy "
        "(process tree, embedded workers included; '(tasks)': the tasks' own CPU time, "
        "for workers outside it)",
    ]
    for r in doc["results"]:
        notes += [f"{r['backend']}: {p}" for p in r["problems"]]
        notes += [f"{r['backend']}: {w}" for w in r["warnings"]]
        if r.get("queue_wait_s") and r.get("task_run_s"):
            q, t = r["queue_wait_s"], r["task_run_s"]
            notes.append(
                f"{r['backend']}: per task, queue wait {_ms(q['median'])} (IQR {_ms(q['iqr'])}), "
                f"run {_ms(t['median'])} (IQR {_ms(t['iqr'])}); {_celery_settings(r['settings'])}"
            )
    said = [textwrap.fill(sentence, 100) for sentence in verdict(doc)]
    return "\n".join(_header(doc) + [""] + table + [""] + notes + [""] + said) + "\n"


def _celery_settings(s: dict) -> str:
    pythons = sorted(
        {
            f"{i['python_implementation']} {i['python_version']}, GIL {'on' if i['gil_enabled'] else 'off'}"
            for i in (s.get("interpreters") or {}).values()
        }
    )
    return (
        f"{s.get('workers')} worker(s) on queue '{s.get('queue')}', pool {s.get('pool')}, "
        f"prefetch {s.get('prefetch_multiplier')}, acks_late {s.get('acks_late')}; "
        f"workers run {' / '.join(pythons) or 'an unreported Python'}"
    )
