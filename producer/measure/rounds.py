"""Run every backend's batches in interleaved rounds and keep every timing.

Rounds go A B C, A B C, ... so that drift of the machine (thermal, other load)
hits every backend alike. Start-up (pools, processes, worker readiness) is timed
on its own before the first round and never enters a batch's wall time.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from producer import backends
from producer.errors import BatchTimeout
from producer.measure.cputime import tree_cpu_s
from producer.measure.verify import check_batch, checksum
from producer.settings import Settings

Progress = Callable[[int, int, str], None]


@dataclass
class Batch:
    round: int
    warmup: bool
    wall_s: float
    cpu_s: float
    tasks: list[dict]


@dataclass
class BackendRun:
    name: str
    info: dict = field(default_factory=dict)
    startup_s: float | None = None
    batches: list[Batch] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    summaries: list | None = None
    timed_out: bool = False
    exit_code: int | None = None
    """The exit code of the error that stopped its batches (BatchTimeout 5, BrokerLost 3)."""

    @property
    def measured(self) -> list[Batch]:
        return [b for b in self.batches if not b.warmup]

    @property
    def ok(self) -> bool:
        return not self.problems and bool(self.measured)

    @property
    def checksum(self) -> str | None:
        return checksum(self.summaries) if self.summaries is not None else None


def run_rounds(
    settings: Settings, spec: str, size: int, progress: Progress | None = None
) -> list[BackendRun]:
    """Start every backend, run warm-up and measured rounds, close them all, whatever happens."""
    rounds = settings.warmup + settings.repeat
    with contextlib.ExitStack() as started:
        pairs = []
        for name in settings.backends:
            backend = backends.create(name, settings)
            t0 = time.perf_counter()
            started.enter_context(backend)
            pairs.append((BackendRun(name, startup_s=time.perf_counter() - t0), backend))
        baseline = pairs[0][0]
        done, total = 0, rounds * len(pairs)
        for r in range(rounds):
            for run, backend in pairs:
                done += 1
                if progress:
                    label = "warm-up" if r < settings.warmup else f"round {r - settings.warmup + 1}"
                    progress(done, total, f"{run.name} {label}")
                if run.timed_out:
                    continue
                _run_batch(run, backend, settings, spec, size, r, baseline.summaries)
        for run, backend in pairs:  # after the batches: they teach some, e.g. which Python ran tasks
            run.info = backend.describe()
    return [run for run, _ in pairs]


def _run_batch(run, backend, settings, spec, size, r, expected) -> None:
    tasks = settings.tasks
    cpu0 = tree_cpu_s()
    t0 = time.perf_counter()
    try:
        records = backend.run_batch(spec, size, tasks)
    except BatchTimeout as exc:
        run.timed_out = True
        run.exit_code = exc.exit_code
        run.problems.append(str(exc))
        return
    wall = time.perf_counter() - t0
    cpu = tree_cpu_s() - cpu0
    summaries, problems = check_batch(records, tasks, expected)
    for problem in problems:
        if problem not in run.problems:
            run.problems.append(problem)
    if not problems and run.summaries is None:
        run.summaries = summaries
    for record in records:
        record.pop("summary", None)  # verified above; the digest stays in run.checksum
    records.sort(key=lambda rec: rec["index"] if isinstance(rec.get("index"), int) else -1)
    run.batches.append(Batch(r, r < settings.warmup, wall, cpu, records))
