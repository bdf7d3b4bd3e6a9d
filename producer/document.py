"""The result document: one value that the JSON file, every exporter and the verdict read.

Its types live here, below both the engine that builds it and the report that reads it
(``producer.report.document`` re-exports them).

Schema history (``SCHEMA_VERSION`` changes whenever a field changes meaning or goes
away; new fields may appear without a bump):

- 1: first published format.
- 2: each result says what its backend is (``family``, ``pool``) and the settings its
  workers really ran with (``settings``, read back from Celery workers; ``None`` where a
  worker could not say); ``caveats`` apart from ``warnings``; ``python`` per result (the
  interpreter that ran its tasks); ``verdict`` as data; ``environment`` of the children;
  ``machine.executable`` replaces ``machine.python_executable``; ``stack.summary`` (a
  sentence) is gone: text is made by the exporters, never stored. The size is chosen by
  a preflight call (``preflight``; calibrated with ``--size auto``); ``repeat`` may be
  ``"auto"``; each result has ``comparison`` (the interval of its per-round speedups and
  its class), ``too_short``, ``outliers``, ``time_split`` and per-round ``disturbed``;
  ``load`` records what else kept the machine busy. Later, without a bump: ``group``,
  ``baseline`` and ``python.gil_enabled_by`` per result, and ``pythons`` (``--python``):
  rows of several interpreters, each group against its own baseline; ``model``, ``via``
  and ``shares_gil`` per result (what its backend declares; absent in older documents).
- 3: findings are data, not prose: ``results[].warnings`` and ``verdict.notes`` are lists
  of ``{"code", "severity": "info" | "warn", ...its numbers}`` (:func:`finding`; the
  sentences are made by :mod:`producer.report.messages`, which also reads version 2's
  strings). ``speedup.value`` is the one speedup statistic (the geometric mean of the
  per-round ratios, named in ``speedup.statistic``; ``speedup.median`` stays beside it);
  ``ideal`` per result (its ideal speedup and the bound that sets it,
  :mod:`producer.measure.ideal`) and ``efficiency`` against it; ``too_short`` now means
  only "the baseline's batch is too short for any speedup", never one backend set aside;
  ``cpu_util`` is None for a batch too short for CPU ticks (finding ``cpu-too-short``).
- 4: a run's size no longer grows with its tasks (issue 20): ``rounds[].tasks`` is gone;
  each round has ``task_count`` and ``task_cpu_s`` (the sum of its tasks' CPU time). Each
  result has ``tasks`` (``verified``: every record checked, warm-up included; ``measured``;
  ``method``: how the per-task statistics were made; ``sample``: a stated, bounded sample
  of the typical round's tasks) and ``timeline`` (the typical round: its tasks, ``kind:
  tasks``, or above a few hundred tasks per lane its lanes' ``occupancy`` in time bins).
  The per-task statistics (``task_run_s``, ``queue_wait_s``, ``breakdown``'s parts) come
  from histograms: no ``values``, and ``p90``, ``p99`` beside the quartiles.
  ``verdict.reason`` is data (``{"code", ...its numbers}``, sentences by
  :mod:`producer.report.reasons`); older documents keep a sentence, shown as it is.
  Also ``network`` (the broker's round trip from the producer and each
  worker, and with ``--hosts`` the links: method and shape), ``settings.broker_rtt`` per
  Celery result, ``stack.network``, ``settings.hosts``/``settings.link`` when ``--hosts``
  was given, and the findings ``broker-bound`` (:mod:`producer.report.network`).
  Later, without a bump: a binned timeline has about 120 to 240 ``bins`` (laid out as the
  round's tasks arrive and widened as they need), where it always had 240.

The document is built by :mod:`producer.measure.results`.
"""

from __future__ import annotations

from typing import Any, TypedDict

SCHEMA_VERSION = 4
READABLE_VERSIONS = (2, 3, 4)
"""Versions ``report`` and ``diff`` read: version 2's findings are sentences, rendered as they are."""

SEVERITIES = ("info", "warn")


def finding(code: str, severity: str, **numbers) -> dict:
    """A warning or a note as data: a stable ``code``, its ``severity`` and its numbers."""
    if severity not in SEVERITIES:
        raise ValueError(f"severity {severity!r} is not one of {SEVERITIES}")
    return {"code": code, "severity": severity, **numbers}


def severity_of(item) -> str:
    """A finding's severity; a version 2 sentence counts as ``warn``."""
    return item.get("severity", "warn") if isinstance(item, dict) else "warn"


def speedup_value(r: dict) -> float | None:
    """A result's speedup, the one statistic: ``speedup.value`` (version 3), else the median (2)."""
    sp = r.get("speedup") or {}
    return sp.get("value", sp.get("median"))


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
    runq_s: float
    """Linux only: time the thread waited in the run queue for a CPU during the call."""
    error: dict
    """``{"type", "message"}`` when the workload raised."""
    sent: float
    """Celery only: when the producer published the task."""
    received: float
    """Celery only: when the worker process received the message."""
    worker: str
    """Celery only: the node name that ran it."""
    publish_s: float
    """Celery only: how long the producer's ``send_task`` call took."""
    collected: float
    """Celery only: when the producer had the result (absent with --no-result)."""
    message: int
    """Celery with --chunks: the message (chunk) that carried this call."""
    interpreter: int
    """``interpreters`` only: the id of the subinterpreter that ran it (its thread is ``tid``)."""


class Round(TypedDict, total=False):
    round: int
    warmup: bool
    wall_s: float
    cpu_s: float
    tasks: list[TaskRecord]
    """Versions 2 and 3 only: every task record of the round."""
    task_count: int
    """Version 4: the records the round returned (each verified)."""
    task_cpu_s: float
    """Version 4: the sum of its tasks' own CPU time."""
    disturbed: list[str]
    """What disturbed this batch (a task delivered again, a process that died); empty if nothing."""
    others_cores: float | None
    """Cores that other programs kept busy during the batch."""
    memory: dict | None
    """Peak memory of the backend's processes during this batch."""


class Result(TypedDict, total=False):
    backend: str
    family: str
    pool: str | None
    model: str
    """Its execution model: ``serial``, ``threads``, ``processes``, ``interpreters``, ``greenlets``."""
    via: str
    """``local`` (the producer's machine) or ``broker``."""
    shares_gil: bool
    """The model's workers share one interpreter's GIL (``python.gil_enabled`` says if it has one)."""
    concurrency: int
    settings: dict[str, Any]
    caveats: list[str]
    python: dict[str, Any]
    """The interpreter that ran its tasks, as the code that ran them saw it: ``executable``,
    ``python_version``, ``gil_enabled``, ``free_threaded_build``, ``gil_enabled_by``."""
    group: str
    """The interpreter's label with ``--python`` (``3.13.5t``); empty without."""
    baseline: bool
    """This row is its group's baseline, the one its group's speedups are against."""
    ok: bool
    timed_out: bool
    """A batch overran --timeout or could not complete; its later rounds were skipped."""
    exit_code: int | None
    """The exit code of the error that stopped it (5: --timeout or tasks lost, 3: broker lost)."""
    problems: list[str]
    warnings: list[dict]
    """Findings: ``{"code", "severity", ...numbers}`` (strings in version 2)."""
    checksum: str | None
    startup_s: float | None
    wall_s: StatsDict | None
    cpu_s: StatsDict | None
    task_cpu_s: StatsDict | None
    cpu_source: str
    cpu_util: StatsDict | None
    speedup: dict | None
    """``{"value", "statistic", "median", "paired": StatsDict}``: the geometric mean of the
    per-round ratios (baseline / this), their median, and the ratios themselves."""
    ideal: dict | None
    """``{"value", "limit", "concurrency", "tasks", "cpus", "cpu_share"}``: the ideal speedup."""
    efficiency: dict | None
    """``{"value": speedup / ideal, "parallelism": the ideal}``."""
    p_value_vs_baseline: float | None
    comparison: dict | None
    """The 95% interval of the per-round speedups and its class (``measure.decide``)."""
    too_short: bool
    """The baseline's batch was too short for any speedup: none given, no verdict."""
    outliers: list[int]
    """Rounds whose wall time is an outlier (modified Z-score); kept, not dropped."""
    time_split: dict | None
    """Shares of the tasks' wall time spent on a CPU, in the run queue, and waiting."""
    queue_wait_s: StatsDict
    task_run_s: StatsDict
    breakdown: dict[str, Any]
    """Celery only: publish, queue wait, hand-off, run, result back and the slots' idle time
    between tasks, each a StatsDict with ``p90``; ``hosts`` and ``clock`` say whose clocks
    the timestamps came from (:mod:`producer.measure.breakdown`)."""
    memory: dict[str, Any]
    """Peak RSS and USS of the backend's processes (:mod:`producer.measure.memory`);
    ``peak_rss_bytes`` None with ``unknown`` saying why (workers reached via --broker)."""
    rounds: list[Round]
    tasks: dict[str, Any]
    """Version 4: ``verified`` (records checked, warm-up included), ``measured``, ``method`` (how
    the per-task statistics were made: :data:`producer.measure.spread.METHOD`) and ``sample``
    ``{rule, round, of, tasks[]}`` or None."""
    timeline: dict[str, Any] | None
    """Version 4: the typical round's ``round``, ``rounds``, ``wall_s`` and ``kind``: ``tasks``
    (``tasks[]``, their timing fields) or ``occupancy`` (``bins``, ``bin_s``, ``end_s``,
    ``tasks``, ``most_per_lane``, ``lanes[] {key, tasks, failed, busy[], cpu[]}``, and
    ``queued[]`` through a broker) (:mod:`producer.measure.picture`)."""


class Verdict(TypedDict):
    kind: str
    """``cpu-bound``, ``gil-releasing``, ``io-bound``, ``mixed`` or ``undecided``."""
    recommend: dict[str, str | None]
    """Keyed by family, from the results' ``family``: ``{"local": backend or None, "celery": pool
    or None, ...}``; only backends that ran. Older documents have exactly ``local`` and ``celery``."""
    confidence: str
    reason: dict | str
    """``{"code", ...its numbers}`` (:mod:`producer.report.reasons`); a sentence in older documents."""
    evidence: dict[str, Any]
    notes: list
    """Findings as in ``Result.warnings`` (strings in version 2; a sweep may add strings)."""


class Document(TypedDict, total=False):
    schema_version: int
    tool: dict[str, str]
    created: str
    machine: dict[str, Any]
    workload: dict[str, Any]
    settings: dict[str, Any]
    environment: dict[str, str]
    preflight: dict[str, Any]
    """The size chosen, one call's time alone, calibration steps, native thread pools."""
    load: dict[str, Any]
    """Cores other programs kept busy before and during the run, and the load average."""
    stack: dict[str, Any] | None
    results: list[Result]
    verdict: Verdict
    """With ``--python``: the first interpreter's; each group has its own in ``pythons``."""
    pythons: list[dict[str, Any]]
    """With ``--python``: per interpreter, its label, facts, rows, single-thread cost and verdict."""
    ok: bool
    producer: dict[str, Any]
    """The producer process: ``pid``, ``peak_rss_bytes`` (its own peak RSS, children not included)."""
