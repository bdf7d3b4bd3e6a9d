"""The verdict, as data: what kind of work this is, what to pick, and how sure it is.

It judges from measured behaviour, never from the workload's name, and it decides only on
statistically separated evidence (:mod:`producer.measure.decide`): when it cannot, it says
``undecided``, why, and what to run next. A wrong answer is worse than none.

- How the baseline spends its time (on a CPU, waiting in the run queue, or waiting for
  I/O or a lock) says whether the work computes or waits. Run-queue time is a busy
  machine starving the work, not waiting: it is never read as I/O.
- How threads and processes (or their Celery twins) compare with the baseline says
  whether computing work holds the GIL.
- It recommends only backends that ran and beat the baseline, and the Celery pool it
  names is the twin of the local backend it names, so the two never contradict.
"""

from __future__ import annotations

from producer.measure.decide import MIN_ROUNDS, SCALES
from producer.report.document import Document, Result, Verdict
from producer.report.verdict_notes import gil_back_on, notes_of_interpreters

WAITS = 0.6
"""Baseline tasks spending this share of their time waiting (not on a CPU, not queued for one)."""
MIXED = 0.2
BUSY_CORES = 0.5
"""Other programs keeping this many cores busy make the machine 'busy'."""
STARVED = 0.1
"""Baseline tasks spending this share of their time in the run queue were starved of a CPU."""
TWINS = {"threads": "threads", "processes": "prefork"}
"""Local backend -> the Celery pool that runs tasks the same way (subinterpreters have none)."""


def _usable(r: Result | None) -> bool:
    return bool(r and r["ok"] and not r["too_short"] and r["comparison"] and not r["caveats"])


def _find(results: list[Result], local: str) -> Result | None:
    """The local backend by name, else its Celery twin; only rows with a comparison."""
    for r in results:
        if r["family"] == "local" and r["backend"] == local and _usable(r):
            return r
    for r in results:
        if r["family"] == "celery" and r["pool"] == TWINS.get(local) and _usable(r):
            return r
    return None


def _parallel(results: list[Result], base: Result) -> Result | None:
    """Processes (or prefork), else subinterpreters where they scaled: a GIL for each worker."""
    procs = _find(results, "processes")
    subs = _find(results, "interpreters")
    return subs if subs is not None and not _scales(procs, base) and _scales(subs, base) else procs


def _cls(r: Result | None) -> str | None:
    return r["comparison"]["class"] if r else None


def _scales(r: Result | None, base: Result | None = None) -> bool:
    """Clearly faster than the baseline, and (for computing work) by keeping more cores busy.

    The second condition guards a busy machine: there a GIL-bound thread pool can win a
    larger share of the CPU than the lone, starved baseline thread and look faster without
    running anything in parallel; its CPU/wall then stays at one core or below.
    """
    if not (r and _cls(r) == "faster" and r["comparison"]["low"] >= SCALES):
        return False
    mine, theirs = (r.get("cpu_util") or {}).get("median"), ((base or {}).get("cpu_util") or {}).get("median")
    if base is None or mine is None:
        return True
    return mine >= SCALES and (theirs is None or mine >= theirs * SCALES)


def _kinds(r: Result) -> str:
    return "subinterpreters" if r["backend"] == "interpreters" else "processes"


def _x(r: Result) -> str:
    c = r["comparison"]
    return f"{r['backend']} {c['mid']:.2f}x [{c['low']:.2f}-{c['high']:.2f}]"


def judge(doc: Document, cost: dict | None = None) -> Verdict:
    """The verdict of one group of rows; ``cost``: its single-thread cost against the first
    interpreter of the run (``producer.pythons``), stated with a free-threaded answer."""
    results = doc["results"]
    base = results[0]
    cpus = doc["machine"].get("cpus_usable") or 1
    others = (doc.get("load") or {}).get("others_during_cores") or {}
    split = base.get("time_split")
    evidence: dict = {"usable_cpus": cpus, "others_cores": others.get("median"), "baseline_time": split}
    notes = gil_back_on(results) + _notes(doc, split, others.get("median"), cpus)
    if not base["ok"] or not base["wall_s"]:
        return _verdict("undecided", "the sequential baseline did not complete", evidence, notes)
    if base["too_short"]:
        return _verdict(
            "undecided", "the batches were too short to measure; raise --size or --tasks", evidence, notes
        )
    threads, procs = _find(results, "threads"), _parallel(results, base)
    gil = (threads or base)["python"].get("gil_enabled", True) is not False
    evidence.update(
        threads=threads and threads["comparison"] | {"backend": threads["backend"]},
        processes=procs and procs["comparison"] | {"backend": procs["backend"]},
        gil=gil,
    )
    waiting = split["waiting"] if split else max(0.0, 1.0 - (base["cpu_util"] or {}).get("median", 1.0))
    kind, reason = _kind(waiting, threads, procs, gil, base)
    if kind == "undecided":
        return _verdict(kind, reason, evidence, notes + _next_steps(results))
    local = _local_pick(kind, gil, results)
    celery, why = _celery_pick(kind, gil, local, results)
    if why:
        notes.append(why)
    notes += notes_of_interpreters(kind, gil, local, results, cost)
    busy = bool(others.get("median") and others["median"] >= BUSY_CORES)
    shaky = any(r["warnings"] for r in (threads, procs) if r)
    verdict = _verdict(kind, reason, evidence, notes, "medium" if busy or shaky else "high")
    verdict["recommend"] = {"local": local, "celery": celery}
    return verdict


def _kind(
    waiting: float, threads: Result | None, procs: Result | None, gil: bool, base: Result
) -> tuple[str, str]:
    if waiting >= WAITS:
        if threads and _cls(threads) in ("same", "slower"):
            return "undecided", (
                f"run alone the work waited {waiting:.0%} of the time, yet threads gained nothing "
                f"({_x(threads)}): something serialises the waits"
            )
        return "io-bound", f"run alone, the work spent {waiting:.0%} of its time waiting, not computing"
    if waiting >= MIXED:
        return "mixed", f"run alone, the work spent {waiting:.0%} of its time waiting and the rest computing"
    if _scales(threads, base):
        why = (
            "the interpreter has no GIL" if not gil else "its computing runs in C code that releases the GIL"
        )
        return ("cpu-bound" if not gil else "gil-releasing"), f"threads scaled ({_x(threads)}): {why}"
    if threads and gil and _cls(threads) == "faster" and _one_core(threads) and _scales(procs, base):
        return "cpu-bound", (
            f"threads ran no work in parallel ({_x(threads)}, keeping "
            f"{threads['cpu_util']['median']:.2f} cores busy): the GIL lets one thread run Python at a "
            f"time, while {_kinds(procs)}, each with its own GIL, ran it in parallel ({_x(procs)})"
        )
    if threads and _cls(threads) in ("same", "slower"):
        if _scales(procs, base):
            return "cpu-bound", (
                f"threads gained nothing ({_x(threads)}): the GIL lets one thread run Python at a time, "
                f"while {_kinds(procs)}, each with its own GIL, ran it in parallel ({_x(procs)})"
            )
        if procs is None:
            return (
                "undecided",
                f"threads gained nothing ({_x(threads)}), and no process backend ran to compare",
            )
        if _cls(procs) in ("same", "slower"):
            return "undecided", f"neither threads ({_x(threads)}) nor processes ({_x(procs)}) ran it faster"
        return (
            "undecided",
            f"threads gained nothing ({_x(threads)}); processes' gain is not yet clear ({_x(procs)})",
        )
    if threads is None:
        return "undecided", "no thread backend ran, so whether the work holds the GIL is unknown"
    if _scales(threads):
        return "undecided", (
            f"threads ran faster ({_x(threads)}) without keeping more cores busy than the baseline: "
            "a busy machine's scheduling, not parallel work"
        )
    return "undecided", f"threads' gain is not clear from noise yet ({_x(threads)})"


def _one_core(r: Result) -> bool:
    """It kept no more than about one core busy (CPU/wall below the scaling bound)."""
    util = (r.get("cpu_util") or {}).get("median")
    return util is not None and util < SCALES


def _eligible(r: Result | None) -> bool:
    return bool(_usable(r) and _cls(r) == "faster")


def _best(candidates: list[Result | None]) -> Result | None:
    """The fastest eligible candidate; the cheaper (first) one when their intervals overlap."""
    eligible = [r for r in candidates if _eligible(r)]
    if not eligible:
        return None
    best = eligible[0]
    for r in eligible[1:]:
        if r["comparison"]["low"] > best["comparison"]["high"]:
            best = r
    return best


def _local_pick(kind: str, gil: bool, results: list[Result]) -> str | None:
    local = {r["backend"]: r for r in results if r["family"] == "local"}
    if kind == "cpu-bound" and gil:
        order = [local.get("processes"), local.get("interpreters")]
    else:
        order = [local.get("threads"), local.get("processes"), local.get("interpreters")]
    best = _best(order)
    return best["backend"] if best else None


def _celery_pick(kind: str, gil: bool, local: str | None, results: list[Result]) -> tuple[str | None, str]:
    pools = {r["pool"]: r for r in results if r["family"] == "celery"}
    if not pools:
        return None, ""
    if local is not None and local in TWINS:
        twin = pools.get(TWINS[local])
        if twin is None:
            return None, f"The Celery twin of {local}, the {TWINS[local]} pool, did not run."
        if not _eligible(twin):
            return None, (
                f"Through Celery the {TWINS[local]} pool did not beat the baseline clearly: "
                "each task also pays a "
                "broker round trip, which short tasks do not earn back; try a larger --size."
            )
        return TWINS[local], ""
    order = (
        [pools.get("prefork")]
        if kind == "cpu-bound" and gil
        else [pools.get("threads"), pools.get("prefork")]
    )
    best = _best(order)
    return (best["pool"], "") if best else (None, "No Celery pool beat the baseline clearly.")


def _notes(doc: Document, split: dict | None, others: float | None, cpus: int) -> list[str]:
    notes = []
    if others is not None and others >= BUSY_CORES:
        notes.append(
            f"The machine was busy: other programs kept about {others:.1f} of its {cpus} CPUs "
            "busy during the run, "
            "so every backend had less to work with; measure on a quieter machine to be sure."
        )
    if split and split["runq"] >= STARVED:
        notes.append(
            f"Run alone, the baseline spent {split['runq']:.0%} of its time waiting for a CPU "
            "(starved, not waiting "
            "for I/O): that time is not read as waiting."
        )
    pools = [t for t in (doc.get("preflight") or {}).get("native_threads", []) if (t.get("threads") or 1) > 1]
    if pools:
        names = ", ".join(f"{t['api']} ({t['threads']} threads)" for t in pools)
        notes.append(
            f"This work runs threads of its own: {names}. Each task already uses several cores, so pools "
            "oversubscribe them; set OPENBLAS_NUM_THREADS=1, OMP_NUM_THREADS=1 or MKL_NUM_THREADS=1 "
            "(or threadpoolctl) to compare pools fairly."
        )
    concurrency = doc["settings"]["concurrency"]
    computes = split is None or split["waiting"] < MIXED
    if concurrency > cpus and computes:
        notes.append(
            f"With --concurrency {concurrency} on {cpus} CPUs, processes take turns on the cores and hold "
            f"{concurrency} tasks' memory at once; --concurrency {cpus} shows the ceiling for this machine."
        )
    return notes


def _next_steps(results: list[Result]) -> list[str]:
    ran = {r["backend"] for r in results} | {r["pool"] for r in results if r["pool"]}
    steps = []
    if not ran & {"threads"}:
        steps.append("add --backends threads")
    if not ran & {"processes", "prefork"}:
        steps.append("add --backends processes")
    if any(r["ok"] and r["comparison"] is None and not r["too_short"] for r in results[1:]):
        steps.append(f"measure at least {MIN_ROUNDS} rounds (--repeat auto does)")
    steps.append("raise --max-time or --repeat, --size or --tasks, or measure on a quieter machine")
    return [f"To decide: {'; '.join(steps)}."]


def _verdict(kind: str, reason: str, evidence: dict, notes: list[str], confidence: str = "none") -> Verdict:
    return Verdict(
        kind=kind,
        recommend={"local": None, "celery": None},
        confidence=confidence if kind != "undecided" else "none",
        reason=reason,
        evidence=evidence,
        notes=notes,
    )
