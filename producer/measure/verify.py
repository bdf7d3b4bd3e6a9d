"""Check every batch against the sequential baseline: nothing lost, nothing twice, same answers."""

from __future__ import annotations

import hashlib
import json


def checksum(summaries: list) -> str:
    """One digest over a batch's summaries in task order."""
    return hashlib.sha256(json.dumps(summaries, sort_keys=True).encode()).hexdigest()[:16]


def check_batch(records: list[dict], tasks: int, expected: list | None) -> tuple[list, list[str]]:
    """Return the batch's summaries in task order and a list of problems (empty when verified)."""
    problems: list[str] = []
    by_index: dict[int, dict] = {}
    for record in records:
        index = record.get("index")
        if index in by_index:
            problems.append(f"task {index} returned twice")
        by_index[index] = record
    missing = sorted(set(range(tasks)) - set(by_index))
    if missing:
        problems.append(f"{len(missing)} of {tasks} results missing")
    stray = sorted(set(by_index) - set(range(tasks)), key=str)
    if stray:
        problems.append(f"unexpected results for tasks {stray[:5]}")
    for index in sorted(i for i in by_index if isinstance(i, int)):
        error = by_index[index].get("error")
        if error:  # a backend may phrase its own failures, e.g. "task 3 killed its process (...)"
            problems.append(
                error.get("problem") or f"task {index} raised {error['type']}: {error['message']}"
            )
    summaries = [by_index.get(i, {}).get("summary") for i in range(tasks)]
    if expected is not None and not problems:
        wrong = [i for i, (got, want) in enumerate(zip(summaries, expected, strict=True)) if got != want]
        if wrong:
            problems.append(
                f"{len(wrong)} of {tasks} results differ from the sequential baseline "
                f"(task {wrong[0]}: {summaries[wrong[0]]} != {expected[wrong[0]]})"
            )
    return summaries, problems
