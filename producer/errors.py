"""Every error poolbench reports to a user, and the exit code that goes with it.

    PoolbenchError                 exit 1
    ├── UsageError                 exit 2  bad flag or value, caught before any work
    │   ├── WorkloadNotFound       exit 2  unknown name, unimportable module or file
    │   └── PreflightFailed        exit 2  the workload's first call raised, crashed or ran away
    ├── BrokerUnavailable          exit 3  Redis cannot be reached
    ├── NoWorker                   exit 4  no Celery worker consumes a pool's queue
    ├── BatchTimeout               exit 5  a batch overran --timeout
    ├── StackError                 exit 6  the embedded Redis or workers would not start
    ├── ConvoyError                exit 1  convoy: the echo server, its client or a load failed
    └── ConvoyTimeout              exit 5  convoy: a round trip or a load overran --timeout

Third-party errors (redis-py, Celery, OS) are translated into these at the boundary,
with a message that says what to do. The CLI catches only ``PoolbenchError``.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_BROKER = 3
EXIT_NO_WORKER = 4
EXIT_TIMEOUT = 5
EXIT_STACK = 6
EXIT_INTERRUPTED = 130


class PoolbenchError(Exception):
    """Root of poolbench's errors; the message is one line meant for the user."""

    exit_code = EXIT_FAILED


class UsageError(PoolbenchError):
    """Raised for a bad flag or value, before any work starts."""

    exit_code = EXIT_USAGE


class WorkloadNotFound(UsageError):
    """Raised when a workload name or spec cannot be resolved to a function."""


class PreflightFailed(UsageError):
    """Raised when the workload fails its preflight call, before any pool starts: it raised,
    killed its process, outgrew the memory guard, overran --timeout, returned something that
    cannot travel as JSON, or returned different results for the same size."""


class BrokerUnavailable(PoolbenchError):
    """Raised when the Redis broker cannot be reached."""

    exit_code = EXIT_BROKER


class NoWorker(PoolbenchError):
    """Raised when no Celery worker consumes a pool's queue within the wait."""

    exit_code = EXIT_NO_WORKER


class BatchTimeout(PoolbenchError):
    """Raised when a batch does not finish within --timeout."""

    exit_code = EXIT_TIMEOUT

    def __init__(self, backend: str, completed: int, tasks: int, timeout: float):
        self.completed, self.tasks = completed, tasks
        super().__init__(
            f"{backend}: batch overran --timeout {timeout:g} s with {completed} of {tasks} tasks completed"
        )


class StackError(PoolbenchError):
    """Raised when the embedded Redis or its workers cannot be started."""

    exit_code = EXIT_STACK


class ConvoyError(PoolbenchError):
    """Raised when ``convoy``'s echo server, its client or a load process fails."""


class ConvoyTimeout(PoolbenchError):
    """Raised when a ``convoy`` wait overran --timeout: a round trip, the client, a load starting
    or stopping."""

    exit_code = EXIT_TIMEOUT
