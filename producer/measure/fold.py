"""A backend's measured tasks folded into aggregates, one record at a time, then let go.

Each record of a measured batch adds to running sums and histograms
(:mod:`producer.measure.spread`) as it arrives (:class:`producer.measure.tally.Tally`):
nothing is kept per task. A batch folds into a :class:`Fold` of its own, which joins its
run's (:meth:`Fold.merge`) once the batch has ended within its time: a batch cut short by
``--timeout`` adds nothing to the figures.
"""

from __future__ import annotations

from producer.measure import breakdown as parts_of
from producer.measure.picture import timed
from producer.measure.spread import Spread


class Fold:
    """Per-task aggregates of one backend's measured batches."""

    def __init__(self) -> None:
        self.records = 0
        """Every record verified, warm-up rounds included."""
        self.measured = 0
        self.run_s = Spread()
        self.queue_s = Spread()
        self.task_cpu_s = Spread()
        """Each task's own CPU time (0 where it has none), for the beyond-ideal finding."""
        # time split: tasks with started, ended and cpu_s
        self.split_tasks = 0
        self.split_wall = self.split_cpu = self.split_runq = 0.0
        self.split_without_runq = False
        # the baseline's CPU share: the same tasks, their run-queue time left out
        self.share_wall = 0.0
        self.parts = {part: Spread() for part in parts_of.PARTS}
        """The breakdown's figures; its ``run_s`` is :attr:`run_s` (the same tasks')."""
        self.hosts: set[str] = set()
        self.messages = self.calls = 0
        self.sent = False

    def take(self, t: dict) -> None:
        """Fold one measured task's own figures (the breakdown's are :class:`Parts`'s)."""
        self.measured += 1
        cpu_s = t.get("cpu_s")
        self.task_cpu_s.add(cpu_s or 0.0)
        if not timed(t):
            return
        wall = t["ended"] - t["started"]
        self.run_s.add(wall)
        sent = t.get("sent")
        if isinstance(sent, (int, float)):
            self.queue_s.add(t["started"] - sent)
        if cpu_s is not None:
            self.split_tasks += 1
            self.split_wall += wall
            self.split_cpu += cpu_s
            runq_s = t.get("runq_s")
            if runq_s is not None:
                self.split_runq += runq_s
            else:
                self.split_without_runq = True
            self.share_wall += wall - (runq_s or 0.0)

    def take_call(self, t: dict) -> None:
        """Count one call of a Celery batch (it carries ``sent``) in the breakdown."""
        self.sent = True
        self.calls += 1
        host = t.get("host")
        if host:
            self.hosts.add(host)

    def merge(self, other: Fold) -> None:
        """Take a batch's aggregates into its run's."""
        self.records += other.records
        self.measured += other.measured
        for mine, theirs in (
            (self.run_s, other.run_s),
            (self.queue_s, other.queue_s),
            (self.task_cpu_s, other.task_cpu_s),
            *((self.parts[p], other.parts[p]) for p in parts_of.PARTS if p != "run_s"),
        ):
            mine.merge(theirs)
        self.split_tasks += other.split_tasks
        self.split_wall += other.split_wall
        self.split_cpu += other.split_cpu
        self.split_runq += other.split_runq
        self.split_without_runq = self.split_without_runq or other.split_without_runq
        self.share_wall += other.share_wall
        self.hosts |= other.hosts
        self.messages += other.messages
        self.calls += other.calls
        self.sent = self.sent or other.sent

    def time_split(self) -> dict | None:
        """Shares of the tasks' wall time: on a CPU, waiting for one (run queue), or waiting."""
        if not self.split_tasks or self.split_wall <= 0 or self.split_without_runq:
            return None
        cpu = min(1.0, self.split_cpu / self.split_wall)
        runq = min(1.0 - cpu, self.split_runq / self.split_wall)
        return {"cpu": cpu, "runq": runq, "waiting": max(0.0, 1.0 - cpu - runq)}

    def cpu_share(self) -> float | None:
        """The share of the task time on a CPU, queued-for-a-CPU time left out."""
        if not self.split_tasks or self.share_wall <= 0:
            return None
        return min(1.0, self.split_cpu / self.share_wall)

    def median_task_cpu_s(self) -> float:
        return self.task_cpu_s.quantile(50.0) if self.task_cpu_s.n else 0.0

    def breakdown(self, producer_host: str | None) -> dict | None:
        """:func:`producer.measure.breakdown.breakdown`'s dict, from the folded batches."""
        if not self.sent:
            return None
        self.parts["run_s"] = self.run_s  # every measured task's, as collect() reads it
        out: dict = {part: s.as_dict() for part, s in self.parts.items() if s.n}
        hosts = sorted(self.hosts)
        out.update(
            hosts=hosts,
            clock="one host" if set(hosts) <= {producer_host} else "across hosts",
            messages=self.messages,
            calls=self.calls,
        )
        return out
