"""The result document: one value that the JSON file, every exporter and the verdict read.

Schema history (``SCHEMA_VERSION`` changes whenever a field changes meaning or goes
away; new fields may appear without a bump):

- 1: first published format.
- 2: each result says what its backend is (``family``, ``pool``) and the settings its
  workers really ran with (``settings``, read back from Celery workers; ``None`` where a
  worker could not say); ``caveats`` apart from ``warnings``; ``python`` per result (the
  interpreter that ran its tasks); ``verdict`` as data; ``environment`` of the children;
  ``machine.executable`` replaces ``machine.python_executable``; ``stack.summary`` (a
  sentence) is gone: text is made by the exporters, never stored.
"""

from __future__ import annotations

import datetime
import statistics
from typing import Any, TypedDict

from producer import __version__
from producer.measure.host import usable_cpus
from producer.measure.rounds import BackendRun
from producer.measure.stats import describe, welch_p

SCHEMA_VERSION = 2


class StatsDict(TypedDict):
    n: int
    median: float
    mean: float
    min: float
    max: float
    stdev: float
    q1: float
    q3: float
    iqr: float
    rsd: float
    values: list[float]


class TaskRecord(TypedDict, total=False):
    """One call of the workload, as timed where it ran (``workloads.run_task``)."""

    index: int
    host: str
    pid: int
    tid: int
    started: float
    """``time.time()`` when the call began, on the host that ran it."""
    ended: float
    cpu_s: float
    """The running thread's CPU time during the call."""
    error: dict
    """``{"type", "message"}`` when the workload raised."""
    sent: float
    """Celery only: when the producer published the task."""
    received: float
    """Celery only: when the worker process received the message."""
    worker: str
    """Celery only: the node name that ran it."""


class Round(TypedDict):
    round: int
    warmup: bool
    wall_s: float
    cpu_s: float
    tasks: list[TaskRecord]


class Result(TypedDict, total=False):
    backend: str
    family: str
    pool: str | None
    concurrency: int
    settings: dict[str, Any]
    caveats: list[str]
    python: dict[str, Any]
    ok: bool
    timed_out: bool
    """A batch overran --timeout or could not complete; its later rounds were skipped."""
    exit_code: int | None
    """The exit code of the error that stopped it (5: --timeout or tasks lost, 3: broker lost)."""
    problems: list[str]
    warnings: list[str]
    checksum: str | None
    startup_s: float | None
    wall_s: StatsDict | None
    cpu_s: StatsDict | None
    task_cpu_s: StatsDict | None
    cpu_source: str
    cpu_util: StatsDict | None
    speedup: dict | None
    """``{"median", "paired": StatsDict}``: baseline median / this median, and per-round ratios."""
    efficiency: dict | None
    p_value_vs_baseline: float | None
    queue_wait_s: StatsDict
    task_run_s: StatsDict
    rounds: list[Round]


class Verdict(TypedDict):
    kind: str
    """``cpu-bound``, ``gil-releasing``, ``io-bound``, ``mixed`` or ``undecided``."""
    recommend: dict[str, str | None]
    """``{"local": backend or None, "celery": pool or None}``: only backends that ran."""
    confidence: str
    reason: str
    evidence: dict[str, Any]
    notes: list[str]


class Document(TypedDict, total=False):
    schema_version: int
    tool: dict[str, str]
    created: str
    machine: dict[str, Any]
    workload: dict[str, Any]
    settings: dict[str, Any]
    environment: dict[str, str]
    stack: dict[str, Any] | None
    results: list[Result]
    verdict: Verdict
    ok: bool
    producer: dict[str, Any]
    """The producer process: ``pid``, ``peak_rss_bytes`` (its own peak RSS, children not included)."""


def build(
    runs: list[BackendRun],
    *,
    machine: dict,
    workload: dict,
    settings: dict,
    stack: dict | None,
    environment: dict | None = None,
) -> Document:
    baseline = runs[0]
    cpus = usable_cpus(machine)
    embedded = bool(stack and stack.get("embedded"))
    here = {k: machine.get(k) for k in PYTHON_KEYS}
    results = [_result(run, baseline, settings["tasks"], cpus, embedded, here) for run in runs]
    return Document(
        schema_version=SCHEMA_VERSION,
        tool={"name": "poolbench", "version": __version__},
        created=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        machine=machine,
        workload=workload,
        settings=settings,
        environment=environment or {},
        stack=stack,
        results=results,
        ok=all(r["ok"] for r in results),
    )


PYTHON_KEYS = ("executable", "python_implementation", "python_version", "gil_enabled", "free_threaded_build")


def _python_of(run: BackendRun, here: dict) -> dict:
    """The interpreter that ran the tasks: this one for local backends, the workers' otherwise."""
    if run.info.get("family") == "local":
        return here
    found = run.info.get("settings", {}).get("interpreter")
    return (
        {k: found.get(k) for k in PYTHON_KEYS} if isinstance(found, dict) else {k: None for k in PYTHON_KEYS}
    )


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
        concurrency=info.get("concurrency", 1),
        settings=info.get("settings", {}),
        caveats=list(info.get("caveats", [])),
        python=_python_of(run, here),
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
        warnings=[],
        rounds=[
            Round(round=b.round, warmup=b.warmup, wall_s=b.wall_s, cpu_s=b.cpu_s, tasks=b.tasks)
            for b in run.batches
        ],
    )
    if not walls:
        return out
    wall = describe(walls)
    out["wall_s"] = wall.as_dict()
    task_cpu = [sum(t.get("cpu_s") or 0.0 for t in b.tasks) for b in measured]
    out["cpu_s"] = describe([b.cpu_s for b in measured]).as_dict()
    out["task_cpu_s"] = describe(task_cpu).as_dict()
    # Workers reached through --broker run outside this process tree: only their tasks'
    # own CPU time says how many cores they kept busy.
    remote = out["family"] != "local" and not embedded
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
