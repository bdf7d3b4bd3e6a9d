"""Sentences made from findings: the report's words for the document's codes.

A finding is data (``{"code", "severity", ...its numbers}``, :func:`document.finding`);
:func:`render` turns one into a sentence, and is the only place that does. A version 2
document stored sentences: :func:`render` returns a string as it is. An unknown code is
rendered from its numbers, so a newer document still reads.
"""

from __future__ import annotations

from collections.abc import Callable

from producer.report import network
from producer.report.reasons import REASONS
from producer.report.table import ms


def _x(c: dict) -> str:
    return f"{c['mid']:.2f}x [{c['low']:.2f}-{c['high']:.2f}]"


def _outlier(f: dict) -> str:
    rounds = ", ".join(map(str, f["rounds"]))
    return (
        f"outlier round(s) {rounds} by the modified Z-score move the median from {ms(f['median_without_s'])} "
        f"to {ms(f['median_s'])}, beyond half the other rounds' IQR ({ms(f['iqr_s'])}); kept, not dropped"
    )


def _disturbed(f: dict) -> str:
    return f"{f['rounds']} disturbed round(s): {'; '.join(f['causes'])}"


def _unstable(f: dict) -> str:
    return (
        f"unstable: standard deviation is {f['rsd']:.0%} of the mean over {f['n']} rounds; "
        "use more --repeat or --warmup, or a quieter machine"
    )


def _cpu_too_short(f: dict) -> str:
    return (
        f"no CPU/wall: its batch took {ms(f['median_s'])} (median), under {ms(f['min_s'])}, and CPU time "
        f"is counted in {ms(f['tick_s'])} ticks (a speedup does not need it: it stands on its interval)"
    )


def _cpu_ticks(f: dict) -> str:
    return (
        f"CPU/wall {f['cpu_util']:.2f} is above the {f['cpus']} usable CPUs: child processes' "
        "CPU time is counted in 10 ms ticks, so short batches round it up"
    )


def _too_short(f: dict) -> str:
    return (
        f"too short to measure: the baseline's batch took {ms(f['baseline_median_s'])} (median), under "
        f"{ms(f['min_s'])}, where fixed per-batch costs outweigh the work; raise --size or --tasks"
    )


def _beyond_ideal(f: dict) -> str:
    bound = {"concurrency": "its concurrency", "tasks": "the number of tasks", "cpus": "the CPUs"}
    facts = (
        f"its tasks took {ms(f['task_cpu_s'])} of CPU each (median) against the baseline's "
        f"{ms(f['baseline_task_cpu_s'])}"
    )
    why = (
        "each task cost less CPU than the baseline's, so more than parallelism is at work"
        if f["cause"] == "cheaper-tasks"
        else "unexplained by the tasks' CPU cost"
    )
    return (
        f"faster than its ideal ({f['low']:.2f}x at the least, against {f['ideal']:.2f}x, set by "
        f"{bound.get(f['limit'], f['limit'])}): {facts}; {why}"
    )


def _busy(f: dict) -> str:
    return (
        f"The machine was busy: other programs kept about {f['others']:.1f} of its {f['cpus']} CPUs busy, "
        f"and this work needs about {f['needs']:.1f}, so backends had less to work with; measure on a "
        "quieter machine to be sure."
    )


def _starved(f: dict) -> str:
    return (
        f"Run alone, the baseline spent {f['runq']:.0%} of its time waiting for a CPU (starved, not "
        "waiting for I/O): that time is not read as waiting."
    )


def _native_threads(f: dict) -> str:
    names = ", ".join(f"{t['api']} ({t['threads']} threads)" for t in f["pools"])
    return (
        f"This work runs threads of its own: {names}. Each task already uses several cores, so pools "
        "oversubscribe them; set OPENBLAS_NUM_THREADS=1, OMP_NUM_THREADS=1 or MKL_NUM_THREADS=1 "
        "(or threadpoolctl) to compare pools fairly."
    )


def _oversubscribed(f: dict) -> str:
    return (
        f"With --concurrency {f['concurrency']} on {f['cpus']} CPUs, processes take turns on the cores and "
        f"hold {f['concurrency']} tasks' memory at once; --concurrency {f['cpus']} shows the ceiling for "
        "this machine."
    )


def _twin_missing(f: dict) -> str:
    return f"Through {f['family']}, no {f['model']} pool ran, the same model as the local pick {f['local']}."


def _twin_not_faster(f: dict) -> str:
    return (
        f"Through {f['family']} the {f['pool']} pool did not beat the baseline clearly: each task also "
        "pays a broker round trip, which short tasks do not earn back; try a larger --size."
    )


def _no_broker_pick(f: dict) -> str:
    return f"No {f['family']} pool beat the baseline clearly."


def _next_steps(f: dict) -> str:
    return f"To decide: {'; '.join(f['steps'])}."


def _budget(f: dict) -> str:
    why = {
        "max-time": f"the --max-time budget ran out after {f['rounds']} rounds",
        "repeat": f"--repeat {f['rounds']} fixed the rounds",
        "max-rounds": f"--repeat auto stopped at its {f['rounds']} rounds",
        "stopped": (
            f"the rounds stopped after {f['rounds']} ({f.get('spent_s', 0):.0f} s of batches, "
            f"--max-time {f.get('max_time_s', 0):.0f}) on rows this verdict does not read"
        ),
    }.get(f["cause"], f"{f['rounds']} rounds were measured")
    if f.get("more_rounds") is None:
        more = (
            "more rounds alone may not decide (an interval centred on a bound of the 10% band, or "
            "a gain that kept no more cores busy than the baseline, settles at no width)"
        )
    else:
        more = (
            f"at the interval's present width about {f['more_rounds']} more round(s) would decide "
            f"(about {f['more_s']:.0f} s more; "
            + (
                f"--repeat {f['rounds'] + f['more_rounds']}, or --repeat auto)"
                if f["cause"] == "repeat"
                else f"--max-time {f['suggest_s']:.0f})"
            )
        )
    return f"Undecided because {why}: {more}."


def _few_rounds(f: dict) -> str:
    return (
        f"No pick: {f['rounds']} measured round(s), and a pick needs at least {f['min']} (the per-round "
        "interval is made of them); --repeat auto measures as many as needed."
    )


def _gil_back_on(f: dict) -> str:
    why = (
        f"importing {', '.join(f['culprits'])} (a C extension that has not declared it can run without "
        "the GIL) turned it back on"
        if f["culprits"]
        else "PYTHON_GIL=1 (or -X gil=1) turned it on, or an extension did"
    )
    return (
        f"This free-threaded build ran with the GIL on: {why}, so threads could not run Python in "
        "parallel; remove that module from the environment to see free threading."
    )


def _free_threading(f: dict) -> str:
    valid = (
        " Threads (and the Celery threads pool) are a valid answer for pure-Python work here."
        if f["threads_picked"]
        else ""
    )
    if f.get("baseline_thread") == "started":
        valid += (
            " The baseline ran its calls in a started thread, as threads do: on the 3.13t built for "
            "this project a process's main thread ran allocating loops up to 2.8x slower, so no "
            "speedup here is inflated by a slow baseline thread."
        )
    cost = f.get("cost")
    if cost is None:
        return (
            "Threads run Python in parallel here, at a single-thread cost (about 5 to 10% in 3.14, more "
            "in 3.13t) that this run did not measure: add --python with a GIL build of the same "
            "version to see it." + valid
        )
    if cost["class"] == "same":
        how = f"one call took as long as on {cost['against']} ({_x(cost)} of its time)"
    else:
        how = f"one call took {_x(cost)} the time it took on {cost['against']}"
    return (
        f"Threads run Python in parallel here, at a single-thread cost: {how}, the sequential "
        "baselines paired by round (a difference of version counts in it too)." + valid
    )


def _subinterpreters(f: dict) -> str:
    picked = "They are the pick: they" if f["picked"] else "They"
    return (
        f"Subinterpreters ran it {_x(f['comparison'])} faster: one process, one GIL per interpreter. "
        f"{picked} cost this: {f['costs']}."
    )


def _chunking(f: dict) -> str:
    facts = (
        f"a message costs {ms(f['message_s'])} on a slot (measured with {f['probe_tasks']} no-op tasks) "
        f"against {ms(f['run_s'])} of work per task, {f['share']:.0%} of a slot's time"
    )
    try_it = (
        f"; try --chunks {f['suggest']} (calls per message; keeps --tasks / --chunks >= --concurrency)"
        if f.get("suggest")
        else ""
    )
    if f["code"] == "chunking-pays":
        return f"Chunking pays on {f['backend']}: {facts}{try_it}."
    return f"Chunking would gain a little on {f['backend']}: {facts}{try_it}."


def _gil_starved(f: dict) -> str:
    return (
        f"{f['backend']}: its pool slots held the GIL while computing, so the worker's consumer thread "
        f"was starved of it: tasks waited {ms(f['queue_s'])} in the queue (median) and slots idled "
        f"{ms(f['gap_s'])} between tasks, against a message cost of {ms(f['message_s'])} measured idle. "
        "Chunking would not help; a pool with a GIL per worker (prefork) would."
    )


RENDER: dict[str, Callable[[dict], str]] = {
    "outlier": _outlier,
    "disturbed": _disturbed,
    "unstable": _unstable,
    "cpu-too-short": _cpu_too_short,
    "cpu-ticks": _cpu_ticks,
    "too-short": _too_short,
    "beyond-ideal": _beyond_ideal,
    "busy-machine": _busy,
    "starved-baseline": _starved,
    "native-threads": _native_threads,
    "oversubscribed": _oversubscribed,
    "broker-twin-missing": _twin_missing,
    "broker-twin-not-faster": _twin_not_faster,
    "no-broker-pick": _no_broker_pick,
    "next-steps": _next_steps,
    "undecided-budget": _budget,
    "too-few-rounds": _few_rounds,
    "gil-back-on": _gil_back_on,
    "free-threading-cost": _free_threading,
    "subinterpreters": _subinterpreters,
    "chunking-pays": _chunking,
    "chunking-marginal": _chunking,
    "gil-starved-consumer": _gil_starved,
    "broker-bound": network.broker_bound,
    "link-sweep-first-rtt": network.first_rtt,
}
"""Warnings and notes; the verdict's reasons are in :data:`producer.report.reasons.REASONS`."""


def render(item) -> str:
    """The sentence for one finding; a version 2 sentence (a string) as it is."""
    if isinstance(item, str):
        return item
    make = RENDER.get(item.get("code", "")) or REASONS.get(item.get("code", ""))
    if make is not None:
        try:
            return make(item)
        except (KeyError, TypeError, ValueError):
            pass  # a finding from another version: its numbers, below
    numbers = ", ".join(f"{k} {v}" for k, v in item.items() if k not in ("code", "severity"))
    return f"{item.get('code', 'finding')}: {numbers}" if numbers else str(item.get("code", "finding"))


def codes(items) -> list[str]:
    """The codes of a list of findings (a version 2 sentence has none)."""
    return [i["code"] for i in items if isinstance(i, dict) and "code" in i]
