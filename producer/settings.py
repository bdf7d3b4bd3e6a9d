"""The run's settings, resolved once at the edge: CLI flag, then environment, then default.

Library code receives a :class:`Settings` and never reads ``os.environ`` itself.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

DEFAULT_BACKENDS = ("sequential", "threads", "processes", "celery-prefork", "celery-threads")
DEFAULT_TASKS = 10
"""Ten calls, as in the original script."""
DEFAULT_CONCURRENCY = 10
"""Ten threads and ten processes, as in the original script."""
DEFAULT_REPEAT: int | None = None
"""None: ``--repeat auto``, rounds until the comparison is decided or MAX_TIME runs out."""
DEFAULT_MAX_TIME = 60.0
"""Seconds of measured rounds ``--repeat auto`` may spend (start-up and warm-up excluded)."""
DEFAULT_CALL_MS = 100.0
"""``--size auto`` grows the size until one call takes about this long."""
DEFAULT_WARMUP = 1
DEFAULT_TIMEOUT = 300.0
"""Seconds one batch may take before it is abandoned."""
DEFAULT_WORKER_TIMEOUT = 10.0
"""Seconds to wait for a worker to consume a pool's queue."""
DEFAULT_STARTUP_TIMEOUT = 60.0
"""Seconds the embedded Redis and workers may take to come up."""
BROKER_ENV = "REDIS_URL"


@dataclass(frozen=True)
class Settings:
    workload: str = "squares"
    size: int | None = None
    """None: the workload's own default size, or calibrated when it has none."""
    calibrate: bool = False
    """``--size auto``: choose the size so that one call takes about ``call_ms``."""
    call_ms: float = DEFAULT_CALL_MS
    tasks: int = DEFAULT_TASKS
    concurrency: int = DEFAULT_CONCURRENCY
    backends: tuple[str, ...] = DEFAULT_BACKENDS
    repeat: int | None = DEFAULT_REPEAT
    """Measured rounds; None: until decided (``--repeat auto``)."""
    max_time: float = DEFAULT_MAX_TIME
    warmup: int = DEFAULT_WARMUP
    start_method: str | None = None
    """multiprocessing start method; None: the platform's default."""
    timeout: float = DEFAULT_TIMEOUT
    worker_timeout: float = DEFAULT_WORKER_TIMEOUT
    startup_timeout: float = DEFAULT_STARTUP_TIMEOUT
    broker_url: str | None = None
    """None: start an embedded Redis and workers."""
    broker_source: str | None = None
    """Where broker_url came from: "--broker", "--broker-env VAR", "--broker-file PATH",
    "REDIS_URL" (the environment) or None."""
    workers: dict[str, int] = field(default_factory=dict)
    """Embedded worker processes per Celery pool, e.g. {"prefork": 3}; default 1 each."""
    pythons: tuple = ()
    """Interpreters (``services.environ.Interpreter``, probed) to run under besides this one:
    ``--python``, repeatable. Each gets its own rows, local backends and embedded workers alike."""
    environ: dict[str, str] = field(default_factory=dict)
    """What children inherit, read once at the edge (``services.environ.inherited``)."""
    memory_limit: int | None = None
    """MiB a local backend's processes may grow by in a batch; None: half the memory available."""
    # What each Celery task costs (issue 12): knobs of the Celery backends only.
    chunks: int = 1
    """Calls per Celery message (Celery's ``chunks``); 1: one call per message."""
    prefetch: int | None = None
    """The embedded workers' prefetch multiplier; None: the worker's default."""
    no_result: bool = False
    """Fire and forget: no result backend; tasks report completion to a per-batch hash."""

    hosts: bool = False
    """``--hosts``: the embedded Redis and each worker fleet in network namespaces of their own."""
    link: object | None = None
    """``--link``: a ``services.relay.LinkShape`` every path to Redis gets with --hosts; None: none."""

    def replace(self, **changes) -> Settings:
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class Output:
    """How the CLI shows a run; the run itself never sees this."""

    json_path: str | None = None
    exports: tuple = ()
    """(exporter, path, options) for --plot, --html, --markdown, --csv (``producer.exports``)."""
    progress: bool = False
    wide: bool = False
    width: int = 80
    color: bool = False
    notice: str | None = None
    """Said first, on stderr: e.g. that REDIS_URL selected running workers."""
