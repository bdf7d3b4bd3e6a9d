"""The result document: one value that the JSON file, every exporter and the verdict read.

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
  and ``shares_gil`` per result (what its backend declares; absent in older documents);
  ``network`` (the broker's round trip from the producer and each worker, and with
  ``--hosts`` the links: method and shape), ``settings.broker_rtt`` per Celery result,
  ``stack.network``, and ``settings.hosts``/``settings.link`` when ``--hosts`` was given.

The document is built by :mod:`producer.measure.results`.
"""

from __future__ import annotations

from typing import Any, TypedDict

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


class Round(TypedDict):
    round: int
    warmup: bool
    wall_s: float
    cpu_s: float
    tasks: list[TaskRecord]
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
    comparison: dict | None
    """The 95% interval of the per-round speedups and its class (``measure.decide``)."""
    too_short: bool
    """The batch was too short to measure: no speedup, no CPU/wall, no verdict."""
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
