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
DEFAULT_REPEAT = 5
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
    """None: the workload's own default size."""
    tasks: int = DEFAULT_TASKS
    concurrency: int = DEFAULT_CONCURRENCY
    backends: tuple[str, ...] = DEFAULT_BACKENDS
    repeat: int = DEFAULT_REPEAT
    warmup: int = DEFAULT_WARMUP
    start_method: str | None = None
    """multiprocessing start method; None: the platform's default."""
    timeout: float = DEFAULT_TIMEOUT
    worker_timeout: float = DEFAULT_WORKER_TIMEOUT
    startup_timeout: float = DEFAULT_STARTUP_TIMEOUT
    broker_url: str | None = None
    """None: start an embedded Redis and workers."""
    workers: dict[str, int] = field(default_factory=dict)
    """Embedded worker processes per Celery pool, e.g. {"prefork": 3}; default 1 each."""
    python: str | None = None
    """Interpreter of the embedded workers; None: this one."""
    environ: dict[str, str] = field(default_factory=dict)
    """What children inherit, read once at the edge (``services.environ.inherited``)."""
    # What each Celery task costs (issue 12): knobs of the Celery backends only.
    chunks: int = 1
    """Calls per Celery message (Celery's ``chunks``); 1: one call per message."""
    prefetch: int | None = None
    """The embedded workers' prefetch multiplier; None: the worker's default."""
    no_result: bool = False
    """Fire and forget: no result backend; tasks report completion to a per-batch hash."""

    def replace(self, **changes) -> Settings:
        return dataclasses.replace(self, **changes)


USER_DEFAULT_SIZE = 100_000
"""Size passed to a user workload when --size is not given."""


@dataclass(frozen=True)
class Output:
    """How the CLI shows a run; the run itself never sees this."""

    json_path: str | None = None
    progress: bool = False
    wide: bool = False
    width: int = 80
    color: bool = False
