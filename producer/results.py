"""The result document: one dict that the JSON file, the table and the verdict all read.

``SCHEMA_VERSION`` changes whenever a field changes meaning or goes away; new fields
may appear without a bump. The README documents every field.
"""

from __future__ import annotations

import datetime
import statistics

from producer import __version__
from producer.machine import usable_cpus
from producer.measure import BackendRun
from producer.stats import describe, welch_p

SCHEMA_VERSION = 1


def build(
    runs: list[BackendRun], *, machine: dict, workload: dict, settings: dict, stack: dict | None
) -> dict:
    baseline = runs[0]
    cpus = usable_cpus(machine)
    embedded = bool(stack and stack.get("embedded"))
    results = [_result(run, baseline, settings["tasks"], cpus, embedded) for run in runs]
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "poolbench", "version": __version__},
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine,
        "workload": workload,
        "settings": settings,
        "stack": stack,
        "results": results,
        "ok": all(r["ok"] for r in results),
    }


def _result(run: BackendRun, baseline: BackendRun, tasks: int, cpus: int, embedded: bool) -> dict:
    measured = run.measured
    walls = [b.wall_s for b in measured]
    base_by_round = {b.round: b.wall_s for b in baseline.measured}
    out: dict = {
        "backend": run.name,
        "concurrency": run.info.get("concurrency", 1),
        "settings": run.info,
        "ok": run.ok,
        "problems": run.problems,
        "checksum": run.checksum,
        "startup_s": run.startup_s,
        "wall_s": None,
        "cpu_s": None,
        "cpu_util": None,
        "task_cpu_s": None,
        "speedup": None,
        "efficiency": None,
        "p_value_vs_baseline": None,
        "warnings": list(run.info.get("caveats", [])),
        "rounds": [
            {"round": b.round, "warmup": b.warmup, "wall_s": b.wall_s, "cpu_s": b.cpu_s, "tasks": b.tasks}
            for b in run.batches
        ],
    }
    if not walls:
        return out
    wall = describe(walls)
    out["wall_s"] = wall.as_dict()
    task_cpu = [sum(t.get("cpu_s") or 0.0 for t in b.tasks) for b in measured]
    out["cpu_s"] = describe([b.cpu_s for b in measured]).as_dict()
    out["task_cpu_s"] = describe(task_cpu).as_dict()
    # Workers reached through --broker run outside this process tree: only their tasks'
    # own CPU time says how many cores they kept busy.
    remote = "pool" in run.info and not embedded
    out["cpu_source"] = "tasks" if remote else "process-tree"
    cpu = task_cpu if remote else [b.cpu_s for b in measured]
    out["cpu_util"] = describe([c / b.wall_s for c, b in zip(cpu, measured, strict=True)]).as_dict()
    if wall.unstable:
        out["warnings"].append(
            f"unstable: standard deviation is {wall.rsd:.0%} of the mean; "
            "use more --repeat or --warmup, or a quieter machine"
        )
    base_walls = [b.wall_s for b in baseline.measured]
    if base_walls:
        speedup = statistics.median(base_walls) / wall.median
        paired = [base_by_round[b.round] / b.wall_s for b in measured if b.round in base_by_round]
        parallel = min(out["concurrency"] or 1, tasks, cpus)
        out["speedup"] = {
            "median": speedup,
            "paired": describe(paired).as_dict() if paired else None,
        }
        out["efficiency"] = {"value": speedup / parallel, "parallelism": parallel}
        out["p_value_vs_baseline"] = welch_p(base_walls, walls) if run is not baseline else None
    queue = [t["started"] - t["sent"] for b in measured for t in b.tasks if "sent" in t and "started" in t]
    if queue:
        out["queue_wait_s"] = describe(queue).as_dict()
    runs_s = [t["ended"] - t["started"] for b in measured for t in b.tasks if "ended" in t and "started" in t]
    if runs_s:
        out["task_run_s"] = describe(runs_s).as_dict()
    return out
