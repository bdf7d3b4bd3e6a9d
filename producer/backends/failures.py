"""The records of tasks that a backend, not the workload, failed: their process died, or they never ran.

Each error carries a ``problem``: the sentence the report prints for it, as
:func:`producer.measure.verify.check_batch` uses it in place of "task i raised T: m".
"""

from __future__ import annotations

import signal

PROCESS_DIED = "ProcessDied"
NOT_RUN = "NotRun"


def died(index: int, exitcode: int | None, others: list[int] | None = None) -> dict:
    """The record of a task whose process died under it."""
    beside = f", or {tasks_named(others)} running beside it did" if others else ""
    return {
        "index": index,
        "error": {
            "type": PROCESS_DIED,
            "message": f"killed its process ({describe_exit(exitcode)}){beside}",
            "problem": f"task {index} killed its process ({describe_exit(exitcode)}){beside}",
        },
    }


def tasks_named(indexes: list[int]) -> str:
    """'task 3' or 'tasks 3, 4'."""
    return f"task{'s' if len(indexes) > 1 else ''} {', '.join(map(str, indexes))}"


def not_run(index: int, deaths: int) -> dict:
    message = f"not run: {deaths} processes died in this batch"
    return {
        "index": index,
        "error": {"type": NOT_RUN, "message": message, "problem": f"task {index} {message}"},
    }


def describe_exit(exitcode: int | None) -> str:
    """'exit code 1' or 'signal 11, SIGSEGV', from multiprocessing's exit code."""
    if exitcode is None:
        return "exit code unknown"
    if exitcode < 0:
        try:
            return f"signal {-exitcode}, {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"signal {-exitcode}"
    return f"exit code {exitcode}"
