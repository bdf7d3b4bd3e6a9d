"""Every error poolbench reports to a user, and the exit code that goes with it.

    PoolbenchError                 exit 1
    ├── UsageError                 exit 2  bad flag or value, caught before any work
    │   ├── WorkloadNotFound       exit 2  unknown name, unimportable module or file
    │   ├── PreflightFailed        exit 2  the workload's first call raised, crashed or ran away
    │   └── TooMuchMemory          exit 2  one call outgrew the memory guard: --size too large
    ├── BrokerUnavailable          exit 3  Redis cannot be reached
    ├── NoWorker                   exit 4  no Celery worker consumes a pool's queue
    ├── BatchTimeout               exit 5  a batch overran --timeout
    │   └── TasksLost              exit 5  a batch cannot complete (every worker vanished)
    │       └── BrokerLost         exit 3  Redis went away mid-batch and did not come back
    ├── StackError                 exit 6  the embedded stack or local processes would not start
    ├── ConvoyError                exit 1  convoy: the echo server, its client or a load failed
    └── ConvoyTimeout              exit 5  convoy: a round trip or a load overran --timeout

Stops are not errors: SIGINT, SIGTERM and SIGHUP each raise :class:`Interrupted` (a
KeyboardInterrupt, so every ``finally`` and context manager stops what it started), and
the CLI exits 128 + the signal's number, as a shell reports a process the signal
killed: 130 (Ctrl-C), 143 (SIGTERM), 129 (SIGHUP). A closed stdout (``poolbench list |
head -2``) exits 141, as a process killed by SIGPIPE would, without a traceback.

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
"""128 + SIGINT: Ctrl-C."""
EXIT_HANGUP = 129
"""128 + SIGHUP: the terminal went away."""
EXIT_TERMINATED = 143
"""128 + SIGTERM: asked to stop (kill, docker stop, systemd, a CI timeout)."""
EXIT_PIPE_CLOSED = 141
"""128 + SIGPIPE: whoever read the output stopped reading."""


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


class TooMuchMemory(UsageError):
    """Raised when a task grows its process past the memory guard (--memory-limit): the
    size is too large for this machine. Found in the first batch, before any measurement."""


class BrokerUnavailable(PoolbenchError):
    """Raised when the Redis broker cannot be reached."""

    exit_code = EXIT_BROKER


class NoWorker(PoolbenchError):
    """Raised when no Celery worker consumes a pool's queue within the wait."""

    exit_code = EXIT_NO_WORKER


class BatchTimeout(PoolbenchError):
    """Raised when a batch does not finish within --timeout."""

    exit_code = EXIT_TIMEOUT

    def __init__(
        self, backend: str, completed: int, tasks: int, timeout: float, running: list[int] | None = None
    ):
        self.completed, self.tasks, self.running = completed, tasks, list(running or [])
        if self.running:
            named = f"task{'s' if len(self.running) > 1 else ''} {', '.join(map(str, self.running))}"
        still = f"; still running, and stopped: {named}" if self.running else ""
        super().__init__(
            f"{backend}: batch overran --timeout {timeout:g} s with {completed} of {tasks} tasks completed"
            + still
        )


class StackError(PoolbenchError):
    """Raised when the embedded Redis, its workers or a local backend's processes cannot be started."""

    exit_code = EXIT_STACK


class TasksLost(BatchTimeout):
    """Raised when a batch cannot complete: its message names the tasks not completed and why."""

    def __init__(self, backend: str, message: str, completed: int, tasks: int):
        self.completed, self.tasks, self.running = completed, tasks, []
        PoolbenchError.__init__(self, f"{backend}: {message}")


class BrokerLost(TasksLost):
    """Raised when Redis went away mid-batch and did not come back within the wait for it."""

    exit_code = EXIT_BROKER


class Interrupted(KeyboardInterrupt):
    """Raised in the main thread by SIGINT, SIGTERM or SIGHUP (see :func:`producer.stops.handled`)."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


class ConvoyError(PoolbenchError):
    """Raised when ``convoy``'s echo server, its client or a load process fails."""


class ConvoyTimeout(PoolbenchError):
    """Raised when a ``convoy`` wait overran --timeout: a round trip, the client, a load starting
    or stopping."""

    exit_code = EXIT_TIMEOUT
