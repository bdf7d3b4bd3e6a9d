"""Turn measured runs into the result document's results: statistics, speedups, checks.

The types and the schema history are in :mod:`producer.report.document`.
"""

from __future__ import annotations

import datetime
import statistics

from producer.document import SCHEMA_VERSION, Document, Result, finding
from producer.measure import decide
from producer.measure.host import usable_cpus
from producer.measure.ideal import ideal
from producer.measure.result_tasks import add_tasks, beyond_ideal, round_of
from producer.measure.runs import BackendRun
from producer.measure.stats import describe, outliers, welch_p
from producer.version import __version__

MIN_CPU_BATCH_S = decide.MIN_CPU_BATCH_S
"""CPU/wall is given only for a backend whose own median batch lasts this long. Child
processes' CPU time is counted in 10 ms clock ticks, so CPU/wall needs ten ticks to be
within 10%. This rule is about CPU time only: it never withholds a speedup."""
MIN_SPEEDUP_BATCH_S = 0.005
"""A speedup is given when the baseline's median batch lasts this long; past it, the
per-round interval alone says whether the speedup stands (a wide one is ``unclear``).
Under it, the fixed costs every batch pays (a pipe round trip of tens of microseconds per
task, a scheduler wake-up of up to a millisecond or so per worker) are a share of the
batch that no number of rounds removes, so no answer is given. Wall time itself is read
from ``perf_counter`` (sub-microsecond), so the floor is not the clock's."""
OUTLIER_SHIFT = 0.01
"""Outlier rounds (modified Z-score) are flagged only when they move the median beyond half the
IQR of the other rounds, and by this share of it at the least: by rank alone they are noise."""


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
    for run in runs:  # batches built by hand (tests) still hold their records
        run.fold_pending()
    baselines: dict[str, BackendRun] = {}
    for run in runs:  # each group's first row is its baseline (one group without --python)
        baselines.setdefault(run.group, run)
    cpus = usable_cpus(machine)
    embedded = bool(stack and stack.get("embedded"))
    here = {k: machine.get(k) for k in PYTHON_KEYS}
    results = [_result(run, baselines[run.group], settings["tasks"], cpus, embedded, here) for run in runs]
    for result, run in zip(results, runs, strict=True):
        add_tasks(result, run, machine.get("hostname"))
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


def _load(load: dict, runs: list[BackendRun]) -> dict:
    during = [b.others_cores for run in runs for b in run.measured if b.others_cores is not None]
    return {**load, "others_during_cores": describe(during).as_dict() if during else None}


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
    """One row of the document, in named steps: each adds its fields and its findings."""
    out = _identity(run, baseline, here)
    if not run.measured:
        return out
    _wall(out, run)
    _cpu(out, run, embedded, cpus)
    if baseline.measured:
        _speedup(out, run, baseline, tasks, cpus)
    if out["too_short"]:  # no speedup at all: the batch's CPU ticks are beside the point
        out["warnings"] = [w for w in out["warnings"] if w["code"] != "cpu-too-short"]
    return out


def _identity(run: BackendRun, baseline: BackendRun, here: dict) -> Result:
    """What the backend is and what it did, before any statistic."""
    info = run.info
    return Result(
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
        ideal=None,
        efficiency=None,
        p_value_vs_baseline=None,
        comparison=None,
        too_short=False,
        outliers=[],
        time_split=run.fold.time_split(),
        warnings=[],
        rounds=[round_of(b) for b in run.batches],
    )


def _wall(out: Result, run: BackendRun) -> None:
    """Wall time's statistics; outliers that move the median; disturbed rounds; instability."""
    measured = run.measured
    walls = [b.wall_s for b in measured]
    wall = describe(walls)
    out["wall_s"] = wall.as_dict()
    out["outliers"] = [measured[i].round for i in outliers(walls)]
    if out["outliers"]:
        kept = [b.wall_s for b in measured if b.round not in out["outliers"]]
        shift = abs(statistics.median(kept) - wall.median) if kept else 0.0
        spread = describe(kept).iqr if len(kept) > 1 else 0.0
        if shift > max(spread / 2, OUTLIER_SHIFT * wall.median):  # beyond the other rounds' spread
            first = min(b.round for b in measured)
            out["warnings"].append(
                finding(
                    "outlier",
                    "info",
                    rounds=[r - first + 1 for r in out["outliers"]],
                    median_s=wall.median,
                    median_without_s=statistics.median(kept),
                    iqr_s=spread,
                )
            )
    disturbed = [b for b in measured if b.disturbed]
    if disturbed:
        causes = sorted({d for b in disturbed for d in b.disturbed})
        out["warnings"].append(finding("disturbed", "warn", rounds=len(disturbed), causes=causes))
    if wall.unstable:
        out["warnings"].append(finding("unstable", "warn", rsd=wall.rsd, n=wall.n))


def _cpu(out: Result, run: BackendRun, embedded: bool, cpus: int) -> None:
    """CPU time, and CPU/wall only where the batch spans enough clock ticks (its own rule)."""
    measured = run.measured
    task_cpu = [b.task_cpu_s for b in measured]
    out["cpu_s"] = describe([b.cpu_s for b in measured]).as_dict()
    out["task_cpu_s"] = describe(task_cpu).as_dict()
    # Workers reached through --broker run outside this process tree: only their tasks'
    # own CPU time says how many cores they kept busy.
    remote = out["family"] != "local" and not embedded
    out["cpu_source"] = "tasks" if remote else "process-tree"
    cpu = task_cpu if remote else [b.cpu_s for b in measured]
    median = out["wall_s"]["median"]
    if median < MIN_CPU_BATCH_S:
        out["warnings"].append(
            finding("cpu-too-short", "info", median_s=median, min_s=MIN_CPU_BATCH_S, tick_s=0.01)
        )
        return
    out["cpu_util"] = describe([c / b.wall_s for c, b in zip(cpu, measured, strict=True)]).as_dict()
    if out["cpu_util"]["median"] > cpus + 0.05:
        out["warnings"].append(finding("cpu-ticks", "info", cpu_util=out["cpu_util"]["median"], cpus=cpus))


def _speedup(out: Result, run: BackendRun, baseline: BackendRun, tasks: int, cpus: int) -> None:
    """The speedup (one statistic: the geometric mean of the per-round ratios), its interval,
    the ideal it is measured against, and a gain beyond that ideal."""
    base_walls = [b.wall_s for b in baseline.measured]
    base_median = statistics.median(base_walls)
    if base_median < MIN_SPEEDUP_BATCH_S:
        out["too_short"] = True
        if run is baseline:
            out["warnings"].append(
                finding("too-short", "warn", baseline_median_s=base_median, min_s=MIN_SPEEDUP_BATCH_S)
            )
        return
    base_by_round = {b.round: b.wall_s for b in baseline.measured}
    paired = [base_by_round[b.round] / b.wall_s for b in run.measured if b.round in base_by_round]
    if not paired:
        return
    value = statistics.geometric_mean(paired)
    out["speedup"] = {
        "value": value,
        "statistic": "geometric mean of the per-round ratios",
        "median": statistics.median(paired),
        "paired": describe(paired).as_dict(),
    }
    out["ideal"] = ideal(out["concurrency"] or 1, tasks, cpus, baseline.fold.cpu_share())
    out["efficiency"] = {"value": value / out["ideal"]["value"], "parallelism": out["ideal"]["value"]}
    walls = [b.wall_s for b in run.measured]
    out["p_value_vs_baseline"] = welch_p(base_walls, walls) if run is not baseline else None
    if run is not baseline and (comparison := decide.compare(paired)) is not None:
        out["comparison"] = comparison.as_dict()
        if comparison.low > out["ideal"]["value"] * decide.SCALES:
            out["warnings"].append(beyond_ideal(comparison.low, out["ideal"], run, baseline))
