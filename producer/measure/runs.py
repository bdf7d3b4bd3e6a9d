"""One backend's run as the rounds keep it: its batches, and its tasks folded into aggregates.

Filled by :mod:`producer.measure.rounds`, read by :mod:`producer.measure.results`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from producer.measure.fold import Fold
from producer.measure.records import Records, Summaries
from producer.measure.tally import Tally
from producer.measure.verify import checksum


@dataclass
class Batch:
    round: int
    warmup: bool
    wall_s: float
    cpu_s: float
    tasks: Records | list[dict]
    """A small batch's records (:data:`producer.measure.picture.WHOLE`), as dicts; a batch
    built by hand (tests) holds all of its own until :meth:`BackendRun.fold_pending`."""
    disturbed: list[str] = field(default_factory=list)
    """What disturbed the batch (a redelivered task, a pool process that died), if anything."""
    others_cores: float | None = None
    """Cores other programs kept busy during the batch."""
    memory: dict | None = None
    """Peak memory of the backend's processes during the batch (:mod:`producer.measure.memory`)."""
    task_count: int = 0
    task_cpu_s: float = 0.0
    """The sum of its tasks' own CPU time."""
    picture: dict | None = None
    """Its timeline, bounded (:mod:`producer.measure.picture`); measured rounds only."""
    sample: list[dict] = field(default_factory=list)
    folded: bool = False
    """Its records are folded into its run's aggregates; ``tasks`` keeps them only for a
    small batch (:data:`producer.measure.picture.WHOLE`)."""


@dataclass
class BackendRun:
    name: str
    info: dict = field(default_factory=dict)
    startup_s: float | None = None
    batches: list[Batch] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    summaries: Summaries | list | None = None
    """The first verified batch's summaries in task order: what later batches are checked against."""
    timed_out: bool = False
    group: str = ""
    exit_code: int | None = None
    """The exit code of the error that stopped its batches (BatchTimeout 5, BrokerLost 3)."""
    fold: Fold = field(default_factory=Fold)
    """Its measured tasks' aggregates; a batch's ``tasks`` are folded in and let go."""

    def add(self, batch: Batch, tally: Tally) -> None:
        """Keep a batch that ended in time, its tally's aggregates joining the run's."""
        self._absorb(batch, tally)
        self.batches.append(batch)

    def fold_pending(self) -> None:
        """Fold the records of every batch built with them (tests), and let them go."""
        for b in self.batches:
            if not b.folded:
                tally = Tally(len(b.tasks), None, not b.warmup)
                for record in b.tasks:
                    tally.append(record)
                self._absorb(b, tally)

    def _absorb(self, batch: Batch, tally: Tally) -> None:
        for key, value in tally.finish().items():
            setattr(batch, key, value)
        self.fold.merge(tally.fold)
        batch.folded = True

    @property
    def measured(self) -> list[Batch]:
        return [b for b in self.batches if not b.warmup]

    @property
    def ok(self) -> bool:
        return not self.problems and bool(self.measured)

    @property
    def checksum(self) -> str | None:
        return checksum(self.summaries) if self.summaries is not None else None
