"""The exceptions a worker stores as a task's failure; the producer reads them by name.

They live apart from :mod:`worker.tasks` so that :mod:`worker.guard`, which fails a
message before it runs, need not import the task module that imports the guard.
"""

from __future__ import annotations


class WorkloadFailed(Exception):
    """Raised when the workload itself raised; Celery then marks the task FAILURE.

    It carries the original type name and message as its two ``args``. The producer
    never imports ``worker``: Celery rebuilds an exception whose module is not loaded
    as a new class of the same name with the same args, so ``("ValueError", "boom")``
    reaches it intact either way.
    """

    def __init__(self, type_name: str, message: str):
        super().__init__(type_name, message)
        self.type_name, self.message = type_name, message

    def __str__(self) -> str:
        return f"{self.type_name}: {self.message}"


class WorkloadNotAllowed(Exception):
    """Raised for a workload spec this worker was not started to run."""
