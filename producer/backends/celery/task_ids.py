"""A batch's task ids, made from the batch and the task's index, and what happened to each.

A task id is ``<batch prefix><index>``, and ``<batch prefix><index>r<k>`` when the task is sent
again for the k-th time (lost with a worker or a restarted Redis). So an id says its index
without a map, the batch's results share one key pattern (one pub/sub pattern to hear them
all, one SCAN to find any stored later), and the batch keeps a few bytes a task in arrays
where dicts and sets of UUID strings cost it about 750 bytes (measured: 20,000 tasks). The
prefix names the backend's run (a fresh random part for each backend) and the batch.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterator

AGAIN = "r"
"""Between an index and the number of times its task was sent again."""


class TaskIds:
    def __init__(self, prefix: str, tasks: int) -> None:
        self.prefix, self.tasks = prefix, tasks
        self._again = array("H", [0]) * tasks
        """How many times each task was sent again: its latest id's k (2 bytes: at most 65,535)."""
        self._published = bytearray(tasks)
        """Whether each task's latest id was published."""
        self._handled = bytearray(tasks)
        """Whether each task's first id brought its result."""
        self._handled_again: set[str] = set()
        self._sent = array("d", [math.nan]) * tasks
        self._publish_s = array("d", [math.nan]) * tasks
        self._sent_again: dict[str, tuple[float, float]] = {}
        """When an id sent again was sent, and how long its publish took (those are few)."""

    def id(self, index: int, again: int = 0) -> str:
        return f"{self.prefix}{index}{AGAIN}{again}" if again else f"{self.prefix}{index}"

    def latest(self, index: int) -> str:
        return self.id(index, self._again[index])

    def _parse(self, task_id: object) -> tuple[int, int] | None:
        if not isinstance(task_id, str) or not task_id.startswith(self.prefix):
            return None
        index, _, again = task_id[len(self.prefix) :].partition(AGAIN)
        if not index.isdigit() or (again and not again.isdigit()) or (index != str(int(index))):
            return None
        index, again = int(index), int(again or 0)
        if index >= self.tasks or again > self._again[index] or (again and task_id != self.id(index, again)):
            return None
        return index, again

    def index_of(self, task_id: object) -> int | None:
        """The index of an id this batch gave out; None for any other."""
        found = self._parse(task_id)
        return found[0] if found else None

    def renew(self, index: int) -> str:
        """A new id for a task to be sent again; the old one's result still counts if it comes."""
        self._again[index] += 1
        self._published[index] = 0
        return self.latest(index)

    def is_latest(self, task_id: str) -> bool:
        found = self._parse(task_id)
        return found is not None and found[1] == self._again[found[0]]

    def published(self, task_id: str) -> bool:
        """Whether this id was sent (every id but a task's latest was)."""
        found = self._parse(task_id)
        return found is not None and (found[1] < self._again[found[0]] or bool(self._published[found[0]]))

    def sent(self, task_id: str, when: float, publish_s: float) -> None:
        index, again = self._parse(task_id)
        self._published[index] = 1
        if again:
            self._sent_again[task_id] = (when, publish_s)
        else:
            self._sent[index], self._publish_s[index] = when, publish_s

    def sent_at(self, task_id: str) -> tuple[float | None, float | None]:
        """(when it was sent, how long its publish took), or (None, None)."""
        found = self._parse(task_id)
        if found is None:
            return None, None
        index, again = found
        if again:
            return self._sent_again.get(task_id, (None, None))
        sent = self._sent[index]
        return (None, None) if math.isnan(sent) else (sent, self._publish_s[index])

    def handle(self, task_id: str) -> bool:
        """Note that this id's result came; False if it had already."""
        index, again = self._parse(task_id)
        if again:
            if task_id in self._handled_again:
                return False
            self._handled_again.add(task_id)
            return True
        if self._handled[index]:
            return False
        self._handled[index] = 1
        return True

    def handled(self, task_id: str) -> bool:
        found = self._parse(task_id)
        if found is None:
            return False
        return task_id in self._handled_again if found[1] else bool(self._handled[found[0]])

    def every(self) -> Iterator[str]:
        """Every id given out, each task's first and those it was sent again with."""
        for index in range(self.tasks):
            for again in range(self._again[index] + 1):
                yield self.id(index, again)

    def unhandled(self) -> Iterator[str]:
        """The ids given out whose result did not come (superseded by a later one, or lost)."""
        return (task_id for task_id in self.every() if not self.handled(task_id))
