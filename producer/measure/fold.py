"""A backend's task records folded into aggregates batch by batch, then let go.

The records of a batch are verified (:mod:`producer.measure.verify`) and then folded
here, where each adds to running sums and histograms (:mod:`producer.measure.spread`);
what the document keeps of a round is its totals, a picture of its timeline
(:mod:`producer.measure.picture`) and a bounded sample of its tasks; a round of at
most ``WHOLE`` tasks keeps them all, as before (their size is bounded too). So the producer
holds one batch's records at a time, whatever the number of rounds, and the document's
size does not grow with the tasks.

Warm-up rounds are verified and counted (``records``) but their times enter nothing.
"""

from __future__ import annotations

from producer.measure import breakdown as parts_of
from producer.measure.picture import WHOLE, picture, sample, timed
from producer.measure.records import Records, as_records
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
        self.hosts: set[str] = set()
        self.messages = self.calls = 0
        self.sent = False

    def add(self, records: Records | list[dict], measured: bool) -> dict:
        """Fold one verified batch; returns what its round keeps: ``task_count``, ``task_cpu_s``
        (the sum of its tasks' own CPU time), ``tasks`` (all of them up to ``WHOLE``, else
        none), and for a measured round ``picture`` and ``sample``."""
        records = as_records(records)
        self.records += len(records)
        kept = {
            "task_count": len(records),
            "task_cpu_s": sum(t.get("cpu_s") or 0.0 for t in records),
            "tasks": list(records) if len(records) <= WHOLE else [],
        }
        if not measured:
            return kept
        self.measured += len(records)
        for t in records:
            self.task_cpu_s.add(t.get("cpu_s") or 0.0)
            if not timed(t):
                continue
            wall = t["ended"] - t["started"]
            self.run_s.add(wall)
            if isinstance(t.get("sent"), (int, float)):
                self.queue_s.add(t["started"] - t["sent"])
            if "cpu_s" in t:
                self.split_tasks += 1
                self.split_wall += wall
                self.split_cpu += t["cpu_s"]
                if "runq_s" in t:
                    self.split_runq += t["runq_s"]
                else:
                    self.split_without_runq = True
                self.share_wall += wall - (t.get("runq_s") or 0.0)
        self._add_parts(records)
        kept.update(picture=picture(records), sample=sample(records))
        return kept

    def _add_parts(self, records: Records) -> None:
        if not any(isinstance(records.get(p, "sent"), (int, float)) for p in range(len(records))):
            return
        self.sent = True
        if records.has("message"):  # --chunks: calls grouped by message, few records a batch
            listed = list(records)
            for part, values in parts_of.collect([listed]).items():
                self.parts[part].extend(values)
            self.messages += len(parts_of.messages(listed))
        else:  # one message a task: read field by field, never a dict per task at once
            for part, value in parts_of.stream(records):
                self.parts[part].add(value)
            self.messages += len(records)
        self.hosts.update(h for p in range(len(records)) if (h := records.get(p, "host")))
        self.calls += len(records)

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
        out: dict = {part: s.as_dict() for part, s in self.parts.items() if s.n}
        hosts = sorted(self.hosts)
        out.update(
            hosts=hosts,
            clock="one host" if set(hosts) <= {producer_host} else "across hosts",
            messages=self.messages,
            calls=self.calls,
        )
        return out
