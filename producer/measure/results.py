"""Turn measured runs into the result document's results: statistics, speedups, checks.

The types and the schema history are in :mod:`producer.report.document`.
"""

from __future__ import annotations

import datetime
import statistics

from producer.document import SCHEMA_VERSION, Document, Result, Round
from producer.measure import decide
from producer.measure.breakdown import breakdown
from producer.measure.host import usable_cpus
from producer.measure.memory import summarise
from producer.measure.rounds import BackendRun
from producer.measure.stats import describe, outliers, welch_p
from producer.version import __version__

MIN_BATCH_S = 0.1
"""A batch shorter than this gets no speedup, no CPU/wall and no verdict. Child processes'
CPU time is counted in 10 ms clock ticks, so CPU/wall needs ten ticks to be within 10%;
and a batch should span several of the scheduler's latency periods (about 12 ms on 2
CPUs) for a parallel backend's start-of-task wake-ups not to dominate it."""


def build(
    runs: list[BackendRun],
    *,
    machine: dict,
    workload: dict,
    settings: dict,
    stack: dict | None,
    environment: dict | None = None,
    preflight: dict | None = None,
    load: dict | None = None,
) -> Document:
    baselines: dict[str, BackendRun] = {}
    for run in runs:  # each group's first row is its baseline (one group without --python)
        baselines.setdefault(run.group, run)
    cpus = usable_cpus(machine)
    embedded = bool(stack and stack.get("embedded"))
    here = {k: machine.get(k) for k in PYTHON_KEYS}
    results = [_result(run, baselines[run.group], settings["tasks"], cpus, embedded, here) for run in runs]
    for result, run in zip(results, runs, strict=True):
        _add_costs(result, run, machine.get("hostname"))
    return Document(
        schema_version=SCHEMA_VERSION,
        tool={"name": "poolbench", "version": __version__},
        created=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        machine=machine,
        workload=workload,
        settings=settings,
        environment=environment or {},
        preflight=preflight or {},
        load=_load(load or {}, runs),
        stack=stack,
        results=results,
        ok=all(r["ok"] for r in results),
    )


def _add_costs(out: Result, run: BackendRun, producer_host: str | None) -> None:
    """What each task cost (Celery) and the memory the backend held (issue 12)."""
    costs = breakdown([b.tasks for b in run.measured], producer_host)
    if costs:
        out["breakdown"] = costs
    out["memory"] = summarise([b.memory for b in run.measured])


def _load(load: dict, runs: list[BackendRun]) -> dict:
    during = [b.others_cores for run in runs for b in run.measured if b.others_cores is not None]
    return {**load, "others_during_cores": describe(during).as_dict() if during else None}


def _time_split(batches) -> dict | None:
    """Shares of the tasks' wall time: on a CPU, waiting for one (run queue), or waiting."""
    tasks = [t for b in batches for t in b.tasks if "started" in t and "ended" in t and "cpu_s" in t]
    wall = sum(t["ended"] - t["started"] for t in tasks)
    if not tasks or wall <= 0 or any("runq_s" not in t for t in tasks):
        return None
    cpu = min(1.0, sum(t["cpu_s"] for t in tasks) / wall)
    runq = min(1.0 - cpu, sum(t["runq_s"] for t in tasks) / wall)
    return {"cpu": cpu, "runq": runq, "waiting": max(0.0, 1.0 - cpu - runq)}


def _beyond_ideal(low: float, parallel: int, measured, base_measured) -> str:
    """A speedup no parallelism explains: the tasks themselves cost less than the baseline's."""

    def per_task(batches) -> float:
        costs = [t.get("cpu_s") or 0.0 for b in batches for t in b.tasks]
        return statistics.median(costs) if costs else 0.0

    mine, theirs = per_task(measured), per_task(base_measured)
    return (
        f"faster than {parallel} workers in parallel can be ({low:.2f}x at the least): its tasks took "
        f"{mine * 1000:.0f} ms of CPU each (median) against the baseline's {theirs * 1000:.0f} ms, so "
        "more than parallelism is at work (a cache, an allocator or a collector behaving otherwise)"
    )


PYTHON_KEYS = (
    "executable",
    "python_implementation",
    "python_version",
    "gil_enabled",
    "free_threaded_build",
    "gil_enabled_by",
)


def _python_of(run: BackendRun, here: dict) -> dict:
    """The interpreter that ran the tasks, as the code that ran them said (a local backend's
    children, a Celery worker); this one for a backend that runs tasks in the producer."""
    found = run.info.get("settings", {}).get("interpreter")
    if not isinstance(found, dict):
        found = here if run.info.get("family") == "local" else {}
    return {k: found.get(k) for k in PYTHON_KEYS}


def _result(
    run: BackendRun, baseline: BackendRun, tasks: int, cpus: int, embedded: bool, here: dict
) -> Result:
    measured = run.measured
    walls = [b.wall_s for b in measured]
    base_by_round = {b.round: b.wall_s for b in baseline.measured}
    info = run.info
    out = Result(
        backend=run.name,
        family=info.get("family", "local"),
        pool=info.get("pool"),
        model=info.get("model", "serial"),
        via=info.get("via", "local"),
        shares_gil=info.get("shares_gil", True),
        concurrency=info.get("concurrency", 1),
        settings=info.get("settings", {}),
        caveats=list(info.get("caveats", [])),
        python=_python_of(run, here),
        group=run.group,
        baseline=run is baseline,
        ok=run.ok,
        timed_out=run.timed_out,
        exit_code=run.exit_code,
        problems=run.problems,
        checksum=run.checksum,
        startup_s=run.startup_s,
        wall_s=None,
        cpu_s=None,
        cpu_util=None,
        task_cpu_s=None,
        speedup=None,
        efficiency=None,
        p_value_vs_baseline=None,
        comparison=None,
        too_short=False,
        outliers=[],
        time_split=_time_split(measured),
        warnings=[],
        rounds=[
            Round(
                round=b.round,
                warmup=b.warmup,
                wall_s=b.wall_s,
                cpu_s=b.cpu_s,
                tasks=b.tasks,
                disturbed=b.disturbed,
                others_cores=b.others_cores,
                memory={k: v for k, v in (b.memory or {}).items() if k != "per_process"} or None,
            )
            for b in run.batches
        ],
    )
    if not walls:
        return out
    wall = describe(walls)
    out["wall_s"] = wall.as_dict()
    out["outliers"] = [measured[i].round for i in outliers(walls)]
    if out["outliers"]:
        out["warnings"].append(
            f"{len(out['outliers'])} outlier round(s) by the modified Z-score (kept, not dropped): "
            f"round {', '.join(str(r - min(b.round for b in measured) + 1) for r in out['outliers'])}"
        )
    disturbed = [b for b in measured if b.disturbed]
    if disturbed:
        out["warnings"].append(
            f"{len(disturbed)} disturbed round(s): "
            + "; ".join(sorted({d for b in disturbed for d in b.disturbed}))
        )
    base_median = statistics.median([b.wall_s for b in baseline.measured]) if baseline.measured else None
    out["too_short"] = base_median is not None and (
        base_median < MIN_BATCH_S or wall.median < MIN_BATCH_S / 2
    )
    task_cpu = [sum(t.get("cpu_s") or 0.0 for t in b.tasks) for b in measured]
    out["cpu_s"] = describe([b.cpu_s for b in measured]).as_dict()
    out["task_cpu_s"] = describe(task_cpu).as_dict()
    # Workers reached through --broker run outside this process tree: only their tasks'
    # own CPU time says how many cores they kept busy.
    remote = out["family"] != "local" and not embedded
    out["cpu_source"] = "tasks" if remote else "process-tree"
    cpu = task_cpu if remote else [b.cpu_s for b in measured]
    if not out["too_short"]:
        out["cpu_util"] = describe([c / b.wall_s for c, b in zip(cpu, measured, strict=True)]).as_dict()
        if out["cpu_util"]["median"] > cpus + 0.05:
            out["warnings"].append(
                f"CPU/wall {out['cpu_util']['median']:.2f} is above the {cpus} usable CPUs: child processes' "
                "CPU time is counted in 10 ms ticks, so short batches round it up"
            )
    if wall.unstable:
        out["warnings"].append(
            f"unstable: standard deviation is {wall.rsd:.0%} of the mean; "
            "use more --repeat or --warmup, or a quieter machine"
        )
    base_walls = [b.wall_s for b in baseline.measured]
    if out["too_short"]:
        if run is baseline:
            out["warnings"].append(
                f"too short to measure: the baseline's batch took {base_median * 1000:.1f} ms "
                "(median), under "
                f"{MIN_BATCH_S * 1000:.0f} ms; raise --size or --tasks for a speedup and a verdict"
            )
    elif base_walls:
        speedup = statistics.median(base_walls) / wall.median
        paired = [base_by_round[b.round] / b.wall_s for b in measured if b.round in base_by_round]
        parallel = min(out["concurrency"] or 1, tasks, cpus)
        out["speedup"] = {
            "median": speedup,
            "paired": describe(paired).as_dict() if paired else None,
        }
        out["efficiency"] = {"value": speedup / parallel, "parallelism": parallel}
        out["p_value_vs_baseline"] = welch_p(base_walls, walls) if run is not baseline else None
        if run is not baseline and (comparison := decide.compare(paired)) is not None:
            out["comparison"] = comparison.as_dict()
            if comparison.low > parallel * decide.SCALES:
                out["warnings"].append(_beyond_ideal(comparison.low, parallel, measured, baseline.measured))
    queue = [t["started"] - t["sent"] for b in measured for t in b.tasks if "sent" in t and "started" in t]
    if queue:
        out["queue_wait_s"] = describe(queue).as_dict()
    runs_s = [t["ended"] - t["started"] for b in measured for t in b.tasks if "ended" in t and "started" in t]
    if runs_s:
        out["task_run_s"] = describe(runs_s).as_dict()
    return out
