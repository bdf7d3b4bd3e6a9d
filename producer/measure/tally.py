"""One batch's results, verified and folded as they arrive, so that a batch costs the producer
what its concurrency and its histograms cost, not what its number of tasks does.

A backend appends each task's record to the :class:`Tally` its batch was handed
(``run_batch(..., into=tally)``) as the record comes back. The tally checks it against the
baseline (:class:`producer.measure.verify.Check`), adds it to the batch's aggregates
(:class:`producer.measure.fold.Fold`), to the round's timeline and sample
(:mod:`producer.measure.picture`) and to Celery's breakdown (:class:`producer.measure.breakdown.Parts`),
and lets it go. What it keeps per task is a byte (which came back) and, for the baseline's
first batch, its summary. Kept whole: a round of at most :data:`~producer.measure.picture.WHOLE`
tasks, and the records of redelivered tasks (for the disturbance they report); with
``--chunks``, each message's first and last call (:class:`~producer.measure.breakdown.Parts`).

Each append runs inside the batch's clock, where keeping the record did: measured with
``bench/tally.py``, 2 µs more a local pool's record and 12 µs more a Celery one than keeping
it by column (docs/BENCHMARKS.md); the check and the fold that followed the clock are gone.
"""

from __future__ import annotations

from producer.measure import breakdown as parts_of
from producer.measure.fold import Fold
from producer.measure.picture import WHOLE, Sample, Timeline
from producer.measure.records import Records, Summaries
from producer.measure.verify import Check


class Tally:
    """A batch of ``tasks`` as its records come back; ``measured`` for a round that is timed
    (a warm-up round's records are only verified and counted)."""

    def __init__(self, tasks: int, expected: Summaries | list | None, measured: bool) -> None:
        self.check = Check(tasks, expected)
        self.fold = Fold()
        """The batch's own aggregates, merged into its run's once it ended in time."""
        self.measured = measured
        self.timeline = Timeline() if measured else None
        self.sample = Sample(tasks) if measured else None
        self.parts = parts_of.Parts(self.fold.parts)
        self.redelivered = Records()
        """The records of tasks delivered again (few), for the backend's disturbances."""
        self.task_cpu_s = 0.0
        self._whole: list[dict] | None = []
        self._count = 0

    def __len__(self) -> int:
        """Records appended, a second result for a task included (backends count their progress)."""
        return self._count

    def append(self, record: dict) -> None:
        self._count += 1
        if not self.check.add(record):
            return  # a second result of one task: a problem, counted once
        fold = self.fold
        fold.records += 1
        self.task_cpu_s += record.get("cpu_s") or 0.0
        if self._whole is not None:
            self._whole.append(record)
            if len(self._whole) > WHOLE:
                self._whole = None
        if record.get("redelivered"):
            self.redelivered.append(record)
        if not self.measured:
            return
        fold.take(record)
        self.timeline.add(record)
        self.sample.add(record)
        if not isinstance(record.get("sent"), (int, float)):
            return
        fold.take_call(record)
        if "message" not in record:  # one message a call; --chunks: the parts count them
            fold.messages += 1
        self.parts.add(record)

    def finish(self) -> dict:
        """End the batch's folding; what its round keeps: ``task_count``, ``task_cpu_s``,
        ``tasks`` (all of them up to ``WHOLE``, else none), and for a measured round
        ``picture`` and ``sample``."""
        self.parts.finish()
        self.fold.messages += self.parts.messages
        tasks = [_unsummed(t) for t in sorted(self._whole, key=_index)] if self._whole is not None else []
        self.redelivered.drop("summary")  # verified: the digest stays
        kept = {"task_count": self.fold.records, "task_cpu_s": self.task_cpu_s, "tasks": tasks}
        if self.measured:
            kept.update(picture=self.timeline.picture(), sample=self.sample.rows())
        return kept


def _unsummed(record: dict) -> dict:
    return {k: v for k, v in record.items() if k != "summary"}


def _index(record: dict) -> int:
    index = record.get("index")
    return index if isinstance(index, int) else -1
