"""Run every backend's batches in interleaved rounds and keep every timing.

Rounds go A B C, A B C, ... so that drift of the machine (thermal, other load)
hits every backend alike. Start-up (pools, processes, worker readiness) is timed
on its own before the first round and never enters a batch's wall time.

With a fixed ``repeat`` the rounds are counted; with ``repeat=None`` (``--repeat auto``)
rounds are added until the verdict's question is answered (:func:`decide.enough`, the
function the verdict asks), or until ``max_time`` runs out.

The rows and the backends are handed in: a plan's rows (:mod:`producer.plan`), and a
``create(row)`` that builds each row's backend (``producer.backends.build``). The engine
knows no backend module and no registry.
"""

from __future__ import annotations

import contextlib
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from producer.errors import BatchTimeout
from producer.measure import decide
from producer.measure.cputime import tree_cpu_s
from producer.measure.host import OtherLoad
from producer.measure.memory import Sampler
from producer.measure.runs import BackendRun, Batch
from producer.measure.tally import Tally

if TYPE_CHECKING:
    from producer.settings import Settings

MAX_AUTO_ROUNDS = decide.MAX_AUTO_ROUNDS
"""``--repeat auto`` stops here even with time left."""


@dataclass
class Tick:
    """Where a run is, for a progress display."""

    backend: str
    label: str
    task: int
    tasks: int
    elapsed_s: float
    eta_s: float | None
    """Seconds left at the current pace; with ``repeat auto``, at most this long."""


Progress = Callable[[Tick], None]


class Row(Protocol):
    """What the rounds read of a plan's row (:class:`producer.plan.Row`)."""

    label: str
    group: str
    """Rows of one interpreter (``--python``): the group's first row is its baseline."""
    settings: Settings


Create = Callable[[Any], Any]
"""``create(row) -> Backend`` (not started): how the executor builds each row's backend."""


def run_rounds(
    settings: Settings,
    spec: str,
    size: int,
    progress: Progress | None,
    rows: Sequence[Row],
    create: Create,
) -> list[BackendRun]:
    """Start every row's backend, run warm-up and measured rounds, close them all, whatever happens.

    The first row is the baseline every other is verified against, and compared with unless it
    has a ``group`` of its own: then the group's first row is its baseline.
    """
    with contextlib.ExitStack() as started:
        pairs = []
        for row in rows:
            backend = create(row)
            t0 = time.perf_counter()
            started.enter_context(backend)
            run = BackendRun(row.label, startup_s=time.perf_counter() - t0, group=row.group)
            pairs.append((run, backend))
        _Rounds(settings, spec, size, pairs, progress).run()
        for run, backend in pairs:  # after the batches: they teach some, e.g. which Python ran tasks
            run.info = backend.describe()
    return [run for run, _ in pairs]


class _Rounds:
    def __init__(self, settings: Settings, spec: str, size: int, pairs: list, progress: Progress | None):
        self.settings, self.spec, self.size, self.pairs = settings, spec, size, pairs
        self.progress = progress
        self.began = time.perf_counter()
        self.measuring_since: float | None = None
        self.baseline_of: dict[str, BackendRun] = {}
        for run, _ in pairs:
            self.baseline_of.setdefault(run.group, run)

    def run(self) -> None:
        r = 0
        while not self._enough(r):
            for run, backend in self.pairs:
                if run.timed_out:
                    continue
                baseline = self.baseline_of[run.group]
                first = self.pairs[0][0]
                if (baseline.timed_out and not baseline.batches) or (first.timed_out and not first.batches):
                    # nothing to compare with, or verify by
                    failed = baseline if baseline.timed_out else first
                    _skip(run, f"not run: the {failed.name} baseline overran --timeout in its first batch")
                    continue
                self._batch(run, backend, r)
            r += 1

    def _enough(self, r: int) -> bool:
        s = self.settings
        if r > 0 and all(base.timed_out for base in self.baseline_of.values()):
            return True  # the baselines overran: no later round can be compared
        if r < s.warmup:
            return False
        if s.repeat is not None:
            return r >= s.warmup + s.repeat
        if self.measuring_since is None:
            self.measuring_since = time.perf_counter()
        if time.perf_counter() - self.measuring_since >= s.max_time or r - s.warmup >= MAX_AUTO_ROUNDS:
            return True
        if r > s.warmup and all(_too_short(base) for base in self.baseline_of.values()):
            return True  # known after one round: no number of rounds gives these batches a speedup
        if r - s.warmup < decide.MIN_ROUNDS:
            return False
        groups = [  # the verdict's own question (decide.enough), asked of each group's rows
            (
                {b.round: b.wall_s for b in base.measured},
                _util(base, "local"),
                [
                    (
                        _declared(backend),
                        {b.round: b.wall_s for b in run.measured},
                        _util(run, backend.spec.via),
                    )
                    for run, backend in self.pairs
                    if run.ok and run.group == base.group and run is not base
                ],
            )
            for base in self.baseline_of.values()
            if base.ok
        ]
        return decide.enough(groups)  # every question answered, or nothing to compare

    def _label(self, r: int) -> str:
        s = self.settings
        if r < s.warmup:
            return "warm-up"
        return f"round {r - s.warmup + 1}" + (f"/{s.repeat}" if s.repeat is not None else "")

    def _eta(self, r: int) -> float | None:
        s = self.settings
        per_round = sum(run.batches[-1].wall_s for run, _ in self.pairs if run.batches)
        if s.repeat is None:
            start = self.measuring_since or time.perf_counter()
            return max(0.0, s.max_time - (time.perf_counter() - start)) if r >= s.warmup else None
        return per_round * max(0, s.warmup + s.repeat - r - 1) if per_round else None

    def _batch(self, run: BackendRun, backend, r: int) -> None:
        done = 0
        tasks = self.settings.tasks

        def tick() -> None:
            nonlocal done
            done += 1
            if self.progress:
                elapsed = time.perf_counter() - self.began
                self.progress(Tick(run.name, self._label(r), done, tasks, elapsed, self._eta(r)))

        if self.progress:
            self.progress(
                Tick(run.name, self._label(r), 0, tasks, time.perf_counter() - self.began, self._eta(r))
            )
        backend.on_task = tick
        try:
            _run_batch(run, backend, self.settings, self.spec, self.size, r, self.pairs[0][0].summaries)
        finally:
            backend.on_task = None


def _too_short(base: BackendRun) -> bool:
    walls = [b.wall_s for b in base.measured]
    return bool(walls) and statistics.median(walls) < decide.TOO_SHORT_S


def _skip(run: BackendRun, reason: str) -> None:
    if reason not in run.problems:
        run.problems.append(reason)


def _run_batch(run, backend, settings, spec, size, r, expected) -> None:
    """One batch, its records verified and folded as they arrive (:class:`Tally`); kept, and
    its aggregates added to the run's, only when it ended within ``--timeout``."""
    tasks = settings.tasks
    tally = Tally(tasks, expected, measured=r >= settings.warmup)
    others = OtherLoad(tree_cpu_s)
    sampler = Sampler(backend.memory_scope()).start()  # its own thread, started outside the clock
    try:
        cpu0 = tree_cpu_s()
        t0 = time.perf_counter()
        backend.run_batch(spec, size, tasks, into=tally)
        wall = time.perf_counter() - t0
        cpu = tree_cpu_s() - cpu0
    except BatchTimeout as exc:
        run.timed_out = True
        run.exit_code = exc.exit_code
        run.problems.append(str(exc))
        return
    finally:
        memory = sampler.stop()
    problems = tally.check.problems()
    for problem in problems:
        if problem not in run.problems:
            run.problems.append(problem)
    if not problems and run.summaries is None:
        run.summaries = tally.check.verified()
    disturbed = backend.disturbances(tally.redelivered)
    run.add(Batch(r, r < settings.warmup, wall, cpu, [], disturbed, others.cores(), memory), tally)


def _util(run: BackendRun, via: str) -> float | None:
    """Median CPU/wall of a run's batches, where the process tree holds its work (local) and
    its batches span enough clock ticks; None otherwise, as in the document."""
    batches = run.measured
    if via != "local" or not batches:
        return None
    walls = sorted(b.wall_s for b in batches)
    if walls[len(walls) // 2] < decide.MIN_CPU_BATCH_S:
        return None
    utils = sorted(b.cpu_s / b.wall_s for b in batches if b.wall_s > 0)
    return utils[len(utils) // 2] if utils else None


def _declared(backend) -> dict:
    """What a backend declares it is (its registry entry), for the stopping rule."""
    spec = backend.spec
    return {"name": spec.name, "model": spec.model, "via": spec.via, "shares_gil": spec.shares_gil}
