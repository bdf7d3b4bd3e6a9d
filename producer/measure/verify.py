"""Check every batch against the sequential baseline: nothing lost, nothing twice, same answers."""

from __future__ import annotations

import hashlib
import json
from array import array
from collections.abc import Iterable

from producer.measure.records import Records, Summaries, as_records


def checksum(summaries: Iterable) -> str:
    """One digest over a batch's summaries in task order."""
    if isinstance(summaries, Summaries):
        return summaries.digest()
    return hashlib.sha256(json.dumps(list(summaries), sort_keys=True).encode()).hexdigest()[:16]


def check_batch(
    records: Records | Iterable[dict], tasks: int, expected: Summaries | list | None
) -> tuple[Summaries, list[str]]:
    """Return the batch's summaries in task order and a list of problems (empty when verified).

    Read field by field (:class:`Records`): a batch of 100,000 records is never a list of dicts.
    """
    records = as_records(records)
    problems: list[str] = []
    position_of = array("q", [-1]) * tasks  # 8 bytes a task, not a list of Python ints
    stray: list = []
    for position in range(len(records)):
        index = records.get(position, "index")
        known = isinstance(index, int) and not isinstance(index, bool) and 0 <= index < tasks
        if (known and position_of[index] >= 0) or (not known and index in stray):
            problems.append(f"task {index} returned twice")
        if known:
            position_of[index] = position
        elif index not in stray:
            stray.append(index)
    missing = position_of.count(-1)
    if missing:
        problems.append(f"{missing} of {tasks} results missing")
    if stray:
        problems.append(f"unexpected results for tasks {sorted(stray, key=str)[:5]}")
    if records.has("error"):
        for index, position in enumerate(position_of):
            error = records.get(position, "error") if position >= 0 else None
            if error:  # a backend may phrase its own failures, e.g. "task 3 killed its process (...)"
                problems.append(
                    error.get("problem") or f"task {index} raised {error['type']}: {error['message']}"
                )
    summaries = Summaries(records.get(p, "summary") if p >= 0 else None for p in position_of)
    if expected is not None and not problems:
        want = expected if isinstance(expected, Summaries) else Summaries(expected)
        wrong = [i for i in range(tasks) if summaries.key(i) != want.key(i) and summaries[i] != want[i]]
        if wrong:
            problems.append(
                f"{len(wrong)} of {tasks} results differ from the sequential baseline "
                f"(task {wrong[0]}: {summaries[wrong[0]]} != {want[wrong[0]]})"
            )
    return summaries, problems
