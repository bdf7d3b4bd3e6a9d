"""``poolbench load``'s session: the baseline, every target, its steps -> the document.

Rates are the user's list (``--repeat`` times over), or ``auto``: one ladder for every
backend, from a low rate up by STEP_FACTOR until the backend saturates (or its
generator cannot send faster), then BISECTIONS steps between its highest sustained and
lowest saturated rates, so that its capacity is bracketed within about 5%.
Prints nothing; ``progress(text)`` is told what runs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import statistics
import sys
import time
from dataclasses import dataclass

from producer.errors import PoolbenchError, PreflightFailed, UsageError
from producer.measure import host
from producer.traffic import busy, capacity, cpu, document, generator, targets
from producer.traffic.steps import run_step, step_seed
from workloads import is_builtin, resolve, run_task

STEP_FACTOR = 1.5
BISECTIONS = 3
"""After the ladder, steps between the highest sustained and lowest saturated rates: 1.5 -> ~1.05."""
MOST_STEPS = 14
BASELINE_CALLS = 5
"""Timed sequential calls, after one untimed (imports, first allocations)."""
START_SHARE = 0.5
"""``auto`` starts at this share of one slot's rate (1/t), and steps down if that saturates."""
MOST_DOWN = 4
MIN_TASKS = 100
"""A step must be given at least this many tasks (rate x duration)."""
SWITCH_INTERVAL_S = 0.0005
"""The producer's GIL switch interval during a load run (see _quick_switches)."""


@dataclass(frozen=True)
class LoadSettings:
    base: object
    """The shared :class:`producer.settings.Settings` (workload, backends, Celery, timeouts)."""
    rates: tuple[float, ...] | None
    """None: ``auto``."""
    duration: float
    arrivals: str
    seed: int
    repeat: int = 1
    """Steps at each listed rate."""


def baseline(spec: str, size: int, cpus: int = 1) -> dict:
    """The sequential baseline: the answer every task must give, and one call's time, alone
    and with the other CPUs busy (:mod:`.busy`)."""
    run_task(spec, size, None)
    records = [run_task(spec, size, i) for i in range(BASELINE_CALLS)]
    failed = next((r for r in records if "error" in r), None)
    if failed:
        error = failed["error"]
        raise PreflightFailed(f"the workload raised {error['type']}: {error['message']}; fix it first")
    times = [r["ended"] - r["started"] for r in records]
    base = {"summary": records[0]["summary"], "run_s": statistics.median(times), "runs_s": times}
    return {**base, **busy.time_busy(lambda: run_task(spec, size, None), cpus, BASELINE_CALLS)}


def ladder(start: float) -> list[float]:
    """Rates rising by STEP_FACTOR, to 3 significant digits (the same for every backend)."""
    return [float(f"{start * STEP_FACTOR**k:.3g}") for k in range(MOST_STEPS)]


def _steps_for(
    target, load: LoadSettings, backend_index: int, expected, start_rate: float, ceiling: float, say
):
    steps: list[dict] = []

    def step(rate: float, repetition: int = 0) -> dict:
        duration = max(load.duration, MIN_TASKS / rate)  # auto's low rates: steps of 100 tasks
        say(f"{target.name}: {rate:g}/s for {duration:.3g} s (step {len(steps) + 1})")
        seed = step_seed(load.seed, backend_index, len(steps))
        result = run_step(target, rate, duration, load.arrivals, seed, expected)
        result["repetition"] = repetition
        steps.append(result)
        return result

    if load.rates:
        for repetition in range(load.repeat):
            for rate in load.rates:
                step(rate, repetition)
        return steps
    for rate in ladder(start_rate):  # up until it saturates, or the generator cannot send faster
        if rate > ceiling * generator.CEILING_USE:
            break
        done = step(rate)
        if done.get("refused"):  # one hiccup of a shared machine: try the rate once more
            done = step(rate)
        sender = done["generator_lag"].get("ceiling")
        ceiling = min(ceiling, sender) if sender else ceiling
        if done.get("refused") or not done["sustained"]:
            break
    lowest = start_rate
    for _ in range(MOST_DOWN):  # the first step saturated: down until one is sustained
        counted = capacity.counted(steps)
        if not counted or any(s["sustained"] for s in counted):
            break
        lowest = float(f"{lowest / STEP_FACTOR:.3g}")
        step(lowest)
    for _ in range(BISECTIONS):  # then between the highest sustained and the lowest saturated
        counted = capacity.counted(steps)
        low = max((capacity.sent(s) for s in counted if s["sustained"]), default=None)
        high = min((capacity.sent(s) for s in counted if not s["sustained"]), default=None)
        if low is None or high is None or high / low < 1.1:
            break
        step(float(f"{(low * high) ** 0.5:.3g}"))
    return steps


def run(load: LoadSettings, progress=None) -> dict:
    say = progress or (lambda text: None)
    settings = load.base
    work = resolve(settings.workload)
    size = settings.size if settings.size is not None else work.default_size
    machine = host.describe()
    say("baseline: sequential calls, alone and with the other CPUs busy...")
    base = baseline(work.spec, size, int(host.usable_cpus(machine)) or 1)
    ceiling = generator.own_ceiling()
    top = max(load.rates) if load.rates else None
    if top and top > ceiling * generator.CEILING_USE:
        raise UsageError(
            f"--rate {top:g}: this generator sends at most about {ceiling:,.0f} tasks/s here, "
            f"and rates above {generator.CEILING_USE:.0%} of that are refused"
        )
    start_rate = float(f"{START_SHARE / base['run_s']:.3g}") if base["run_s"] > 0 else 10.0
    results = []
    began = time.time()
    allow = [] if is_builtin(work.spec) else [work.spec]
    with contextlib.ExitStack() as stack:
        stack.enter_context(_quick_switches())
        served, services = stack.enter_context(targets.serve(targets.plan(settings), allow, say))
        load = dataclasses.replace(load, base=served.settings)
        for index, row in enumerate(served.rows):
            target = targets.target(row, work.spec, size, base["run_s"])
            say(f"{target.name}: starting...")
            with target:
                steps = _steps_for(target, load, index, base["summary"], start_rate, ceiling, say)
                described = target.describe()
                concurrency = target.concurrency
            results.append(_result(row, concurrency, described, steps, work.kind, base, machine))
    return document.build(load, work, size, base, ceiling, machine, results, began, services)


@contextlib.contextmanager
def _quick_switches():
    """A thread waking to send waits for the GIL up to the switch interval (5 ms by default)
    while the result reader holds it: shorten it while the generator runs, then restore it."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


def _result(row, concurrency: int, described: dict, steps, kind: str, base: dict, machine) -> dict:
    cpus = int(host.usable_cpus(machine)) or 1
    entry = row.spec
    found = capacity.capacity(steps)
    return {
        "name": row.label,
        "model": entry.model,
        "via": entry.via,
        "shares_gil": entry.shares_gil,
        "concurrency": concurrency,
        "target": described,
        "steps": steps,
        "capacity": found,
        "send_ceiling": _send_ceiling(steps),
        "model_capacity": capacity.model_capacity(kind, concurrency, _t(base, entry), entry.shares_gil, cpus),
        "model_turnaround": capacity.turnaround_model(
            kind, concurrency, _t(base, entry), entry.shares_gil, cpus, steps
        ),
        "model_cpu_left": cpu.left_model(
            kind, 1 if entry.shares_gil else concurrency, base["run_s"], cpus, cpu.at_capacity(steps, found)
        ),
    }


def _t(base: dict, entry) -> float:
    """The call time a model of this pool uses: with the other CPUs busy for a pool that runs
    calls in parallel (a GIL each), alone for one that shares one GIL (:mod:`.busy`)."""
    return base["run_s"] if entry.shares_gil else base.get("run_busy_s") or base["run_s"]


def _send_ceiling(steps: list[dict]) -> float | None:
    """Sends per second this target's generator could make: the median over its steps."""
    found = [s["generator_lag"]["ceiling"] for s in steps if s["generator_lag"].get("ceiling")]
    return statistics.median(found) if found else None


__all__ = ["LoadSettings", "run", "PoolbenchError"]
