"""A supervised child of a local backend, as its :class:`~producer.backends.supervised.ChildPool`
keeps it (a :class:`Handle`: the multiprocessing process, its pipe and what it holds), and the
small operations on it that never raise. The process itself is started by multiprocessing
(:mod:`producer.backends.launch`); every other child poolbench starts is a
:class:`producer.services.process.Child`."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import psutil

from producer.backends.failures import describe_exit
from producer.measure.records import Records

MEMORY_SHARE = 0.5
"""By default a backend may grow its processes by this share of the memory available at start."""


@dataclass(eq=False)
class Handle:
    process: object
    conn: object
    threads: int
    ready: bool = False
    failure: str | None = None
    """Why it could not serve, as it said before exiting."""
    rss0: int = 0
    sent: deque = field(default_factory=deque)
    """Indexes handed to it and not done, oldest first."""
    started: set = field(default_factory=set)
    """With several threads, the tasks they began (one thread begins them in the order sent)."""

    @property
    def running(self) -> list[int]:
        if self.threads == 1:
            return [self.sent[0]] if self.sent else []
        return sorted(self.started)


class Pending:
    """A batch's indexes still to hand out, in order: those put back (a dead child's) first,
    then the rest of ``0 .. tasks-1``, counted, never a list of them (a deque of 100,000 ints
    costs about 3.6 MB)."""

    def __init__(self, tasks: int) -> None:
        self._back: deque[int] = deque()
        self._next, self._end = 0, tasks

    def __len__(self) -> int:
        return len(self._back) + self._end - self._next

    def popleft(self) -> int:
        if self._back:
            return self._back.popleft()
        if self._next >= self._end:
            raise IndexError("no task left to hand out")
        self._next += 1
        return self._next - 1

    def extendleft(self, indexes) -> None:
        """As ``deque.extendleft``: each goes to the front in turn."""
        self._back.extendleft(indexes)


@dataclass
class Batch:
    pending: Pending
    tasks: int
    records: Records = field(default_factory=Records)
    """Where the batch's task records go as they come back: by column (a kilobyte a task as
    dicts), or a :class:`~producer.measure.tally.Tally` that folds them."""
    deaths: int = 0


def default_budget() -> int:
    return int(psutil.virtual_memory().available * MEMORY_SHARE)


def how(child: Handle) -> str:
    child.process.join(1.0)
    return describe_exit(child.process.exitcode)


def release(child: Handle) -> None:
    """Close its pipe and its process handle (a multiprocessing sentinel, a pidfd)."""
    child.conn.close()
    try:
        child.process.close()
    except ValueError:  # multiprocessing refuses to close a process it has not reaped
        pass


def send(child: Handle, message) -> None:
    try:
        child.conn.send(message)
    except OSError:  # it died: its sentinel says so on the next wait
        pass


def kill(child: Handle) -> None:
    try:
        child.process.kill()
    except (OSError, ValueError):  # already gone, or already closed
        pass


def rss(child: Handle) -> int:
    try:
        return psutil.Process(child.process.pid).memory_info().rss
    except psutil.Error:
        return child.rss0
