"""Every error poolbench reports to a user, and the exit code that goes with it.

    PoolbenchError                 exit 1
    ├── UsageError                 exit 2  bad flag or value, caught before any work
    │   └── WorkloadNotFound       exit 2  unknown name, unimportable module or file
    ├── BrokerUnavailable          exit 3  Redis cannot be reached
    ├── NoWorker                   exit 4  no Celery worker consumes a pool's queue
    ├── BatchTimeout               exit 5  a batch overran --timeout
    │   └── TasksLost              exit 5  a batch cannot complete (every worker vanished)
    │       └── BrokerLost         exit 3  Redis went away mid-batch and did not come back
    └── StackError                 exit 6  the embedded Redis or workers would not start

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


class TasksLost(BatchTimeout):
    """Raised when a batch cannot complete: its message names the tasks not completed and why."""

    def __init__(self, backend: str, message: str, completed: int, tasks: int):
        self.completed, self.tasks = completed, tasks
        PoolbenchError.__init__(self, f"{backend}: {message}")


class BrokerLost(TasksLost):
    """Raised when Redis went away mid-batch and did not come back within the wait for it."""

    exit_code = EXIT_BROKER
