"""The run's settings, resolved once at the edge: CLI flag, then environment, then default.

Library code receives a :class:`Settings` and never reads ``os.environ`` itself.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

from producer import backends, validation
from producer.errors import UsageError

DEFAULT_BACKENDS = backends.DEFAULTS
"""The registry's defaults: the baseline, the local pools and the default family's pools."""
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

LIMITS = {
    "size": (0, 10**10),
    "tasks": (1, 100_000),
    "concurrency": (1, 1024),
    "repeat": (1, 1000),
    "warmup": (0, 100),
    "memory_limit": (16, 2**24),
}
"""Whole-number settings: the lowest and highest value each may take (None: its default)."""
SECONDS = ("timeout", "worker_timeout", "startup_timeout", "max_time")
"""Seconds: each must be a finite number above 0 and at most MAX_SECONDS."""
MAX_SECONDS = 7 * 24 * 3600.0
"""A week: beyond it, waits overflow some clocks (threading, the broker's client) rather than wait."""
MAX_WORKERS = 64
"""Embedded worker processes per pool, at most."""


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
    """Embedded worker processes per pool of a distributed family, e.g. {"prefork": 3}; default 1 each."""
    pythons: tuple = ()
    """Interpreters (``services.environ.Interpreter``, probed) to run under besides this one:
    ``--python``, repeatable. Each gets its own rows, local backends and embedded workers alike."""
    environ: dict[str, str] = field(default_factory=dict)
    """What children inherit, read once at the edge (``services.environ.inherited``)."""
    memory_limit: int | None = None
    """MiB a local backend's processes may grow by in a batch; None: half the memory available."""
    # What each brokered task costs (issue 12): knobs only a family honours (its ``knobs``).
    chunks: int = 1
    """Calls per message (a family's chunks); 1: one call per message."""
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

    def check(self) -> Settings:
        """UsageError, with the message the CLI prints, for the first value that cannot run;
        the settings themselves otherwise. The CLI and the API both call it before any work."""
        for name, (low, high) in LIMITS.items():
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise UsageError(f"{_flag(name)} must be a whole number, not {value!r}")
            if value is not None and not low <= value <= high:
                raise UsageError(f"{_flag(name)} must be between {low:,} and {high:,}, not {value:,}")
        for name in SECONDS:
            raw = getattr(self, name)
            value = float(raw) if isinstance(raw, (int, float)) and not isinstance(raw, bool) else math.nan
            if not (math.isfinite(value) and 0 < value <= MAX_SECONDS):
                shown = value if isinstance(raw, (int, float)) else repr(raw)
                raise UsageError(
                    f"{_flag(name)} must be positive and finite, at most {MAX_SECONDS:,.0f} s; not {shown}"
                )
        if not 1 <= self.call_ms <= 600_000:
            raise UsageError(f"--call-ms must be between 1 and 600,000, not {self.call_ms:g}")
        if not 1 <= self.chunks <= self.tasks:
            raise UsageError(f"--chunks must be between 1 and --tasks ({self.tasks}), not {self.chunks}")
        if self.prefetch is not None and not 1 <= self.prefetch <= 1000:
            raise UsageError(f"--prefetch must be between 1 and 1,000, not {self.prefetch}")
        for pool, count in self.workers.items():
            if not 1 <= count <= MAX_WORKERS:
                raise UsageError(
                    f"--workers takes pool=count with count 1 to {MAX_WORKERS}, e.g. prefork=3; "
                    f"not '{pool}={count}'"
                )
        validation.check(self)  # what the registry and the families say
        return self


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


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
    verbose: int = 0
    """0: the answer on one screen; 1 (-v): notes and workers' settings; 2 (-vv): costs, memory."""
    notice: str | None = None
    """Said first, on stderr: e.g. that REDIS_URL selected running workers."""
