"""Check every batch against the sequential baseline: nothing lost, nothing twice, same answers.

A batch is checked as its results arrive (:class:`Check`), each once: what it keeps is a byte
a task (which indexes came back) and, for the batch that becomes the baseline, its summaries.
"""

from __future__ import annotations

import hashlib
import heapq
import json
from collections.abc import Iterable

from producer.measure.records import Summaries, key_of

MOST_NAMED = 10
"""A batch names at most this many tasks that failed, and this many that came back twice; it
counts the rest (a workload that raises on each of 100,000 tasks is one problem, not 100,000)."""


def checksum(summaries: Iterable) -> str:
    """One digest over a batch's summaries in task order."""
    if isinstance(summaries, Summaries):
        return summaries.digest()
    return hashlib.sha256(json.dumps(list(summaries), sort_keys=True).encode()).hexdigest()[:16]


class Check:
    """One batch of ``tasks`` checked result by result, against ``expected`` (the baseline's
    summaries in task order) when there are any; without them (the baseline's own batch), or
    with ``keep``, its summaries are kept in task order."""

    def __init__(self, tasks: int, expected: Summaries | list | None, keep: bool = False) -> None:
        self.tasks = tasks
        self.expected = Summaries(expected) if isinstance(expected, list) else expected
        self._have = bytearray(tasks)
        self._twice: list[str] = []
        self._twice_count = 0
        self._stray: list = []
        self._errors: list[tuple[int, str]] = []
        """The failed tasks of lowest index, at most ``MOST_NAMED``, as a heap of (-index, problem)."""
        self._error_count = 0
        self._wrong = 0
        self._first_wrong: int | None = None
        self._wrong_pair: tuple = (None, None)
        self.summaries = Summaries.sized(tasks) if keep or expected is None else None

    def add(self, record: dict) -> bool:
        """Check one result; False for a second result of a task (it counts once)."""
        index = record.get("index")
        known = isinstance(index, int) and not isinstance(index, bool) and 0 <= index < self.tasks
        if (known and self._have[index]) or (not known and index in self._stray):
            self._twice_count += 1
            if len(self._twice) < MOST_NAMED:
                self._twice.append(f"task {index} returned twice")
            return False
        if not known:
            self._stray.append(index)
            return True
        self._have[index] = 1
        error = record.get("error")
        if error:  # a backend may phrase its own failures, e.g. "task 3 killed its process (...)"
            self._error_count += 1
            said = error.get("problem") or f"task {index} raised {error['type']}: {error['message']}"
            heapq.heappush(self._errors, (-index, said))
            if len(self._errors) > MOST_NAMED:
                heapq.heappop(self._errors)  # the highest index goes
        summary = record.get("summary")
        if self.summaries is not None:
            self.summaries.put(index, summary)
        want = self.expected
        if want is not None and summary != want[index] and key_of(summary) != want.key(index):
            self._wrong += 1
            if self._first_wrong is None or index < self._first_wrong:
                self._first_wrong = index
                self._wrong_pair = (summary, want[index])
        return True

    def problems(self) -> list[str]:
        """What went wrong, in the order a reader needs it; empty when the batch is verified."""
        problems = list(self._twice)
        if self._twice_count > len(self._twice):
            problems.append(f"{self._twice_count - len(self._twice)} more results returned twice")
        missing = self.tasks - self._have.count(1)
        if missing:
            problems.append(f"{missing} of {self.tasks} results missing")
        if self._stray:
            problems.append(f"unexpected results for tasks {sorted(self._stray, key=str)[:5]}")
        problems += [problem for _, problem in sorted(self._errors, reverse=True)]
        if self._error_count > len(self._errors):
            problems.append(f"{self._error_count - len(self._errors)} more tasks failed")
        if self._wrong and not problems:
            got, want = self._wrong_pair
            problems.append(
                f"{self._wrong} of {self.tasks} results differ from the sequential baseline "
                f"(task {self._first_wrong}: {got} != {want})"
            )
        return problems

    def verified(self) -> Summaries | None:
        """The batch's summaries in task order once it is verified: its own if kept, else the
        ones it was checked against, which it equals; None while anything is wrong."""
        if self.problems():
            return None
        return self.summaries if self.summaries is not None else self.expected


def check_batch(
    records: Iterable[dict], tasks: int, expected: Summaries | list | None
) -> tuple[Summaries, list[str]]:
    """Return the batch's summaries in task order and a list of problems (empty when verified)."""
    check = Check(tasks, expected, keep=True)
    for record in records:
        check.add(record)
    return check.summaries, check.problems()
