"""The verdict, as data: what kind of work this is, what to pick, and how sure it is.

It judges from measured behaviour and from what each backend declares (its ``model``,
``via`` and ``shares_gil``), never from a workload's or a backend's name, and it decides
only on statistically separated evidence (:mod:`producer.measure.decide`): when it
cannot, it says ``undecided``, why, and how many more rounds would tell.

- How the baseline spends its time (on a CPU, waiting in the run queue, or waiting for
  I/O or a lock) says whether the work computes or waits. Run-queue time is a busy
  machine starving the work, not waiting: it is never read as I/O.
- Its question is :func:`decide.question`: does a model that shares one GIL (threads)
  gain, against one that does not (processes, subinterpreters)? The local pair are the
  best rows of each kind run in the producer's machine, else through a broker.
- It recommends only backends that ran and beat the baseline; per broker family
  (``recommend[family]``) it names the pool of the local pick's model, so the two never
  contradict.
"""

from __future__ import annotations

from producer.measure import decide
from producer.report.document import Document, Result, Verdict, finding
from producer.report.verdict_notes import (
    busy_machine,
    few_rounds,
    gil_back_on,
    notes_of_interpreters,
    work_notes,
)
from producer.report.verdict_undecided import busy_cores, comparison_of, cores_of, next_steps

WAITS = 0.6
"""Baseline tasks spending this share of their time waiting (not on a CPU, not queued for one)."""
MIXED = 0.2
PREFERENCE = ("threads", "greenlets", "processes", "interpreters")
"""When intervals overlap, the cheaper model first."""


def _usable(r: Result | None) -> bool:
    return bool(r and r["ok"] and not r["too_short"] and r["comparison"] and not r["caveats"])


def _best_of(results: list[Result], keep) -> Result | None:
    """The usable row with the highest low end among those ``keep`` accepts, locally first."""
    for via in ("local", "broker"):
        rows = [r for r in results[1:] if r.get("via", "local") == via and keep(r) and _usable(r)]
        if rows:
            return max(rows, key=lambda r: r["comparison"]["low"])
    return None


def _threads(results: list[Result]) -> Result | None:
    return _best_of(results, lambda r: r.get("model") == "threads")


def _parallel(results: list[Result]) -> Result | None:
    return _best_of(results, lambda r: r.get("shares_gil") is False)


def _cls(r: Result | None) -> str | None:
    return r["comparison"]["class"] if r else None


def _scales(r: Result | None, base: Result | None = None) -> bool:
    """Clearly faster than the baseline, and (for computing work) by keeping more cores busy.

    The second condition guards a busy machine: there a GIL-bound thread pool can win a
    larger share of the CPU than the lone, starved baseline thread and look faster without
    running anything in parallel; its CPU/wall then stays at one core or below.
    """
    if not (r and comparison_of(r) and comparison_of(r).scales):
        return False
    return base is None or cores_of(r, base)


def _x(r: Result | None) -> dict | None:
    """A row's speedup as the reason keeps it: ``{backend, mid, low, high}``."""
    if r is None or not r.get("comparison"):
        return None
    c = r["comparison"]
    return {"backend": r["backend"], "mid": c["mid"], "low": c["low"], "high": c["high"]}


def judge(doc: Document, cost: dict | None = None) -> Verdict:
    """The verdict of one group of rows; ``cost``: its single-thread cost against the first
    interpreter of the run (``producer.pythons``), stated with a free-threaded answer."""
    results = doc["results"]
    base = results[0]
    cpus = doc["machine"].get("cpus_usable") or 1
    others = (doc.get("load") or {}).get("others_during_cores") or {}
    split = base.get("time_split")
    evidence: dict = {"usable_cpus": cpus, "others_cores": others.get("median"), "baseline_time": split}
    families = sorted({r["family"] for r in results if r.get("via") == "broker"})
    busy = busy_machine(doc, split, others.get("median"), cpus)
    notes = gil_back_on(results) + ([busy] if busy else []) + work_notes(doc, split, cpus)
    if not base["ok"] or not base["wall_s"]:
        return _verdict("undecided", _reason("baseline-failed"), evidence, notes, families)
    if base["too_short"]:
        return _verdict("undecided", _reason("batches-too-short"), evidence, notes, families)
    threads, procs = _threads(results), _parallel(results)
    gil = (threads or base)["python"].get("gil_enabled", True) is not False
    evidence.update(
        threads=threads and threads["comparison"] | {"backend": threads["backend"]},
        processes=procs and procs["comparison"] | {"backend": procs["backend"]},
        gil=gil,
    )
    waiting = split["waiting"] if split else max(0.0, 1.0 - (base["cpu_util"] or {}).get("median", 1.0))
    kind, reason = _kind(waiting, threads, procs, gil, base)
    if kind == "undecided":
        return _verdict(kind, reason, evidence, notes + next_steps(doc, threads, procs), families)
    local = _local_pick(kind, gil, results)
    picks: dict[str, str | None] = {"local": local["backend"] if local else None}
    for family in families:
        picks[family], why = _broker_pick(kind, gil, local, family, results)
        if why:
            notes.append(why)
    if local is None and (few := few_rounds(results)):
        notes.append(few)
    notes += notes_of_interpreters(kind, gil, local, results, cost)
    shaky = any(r["warnings"] and any(_warns(w) for w in r["warnings"]) for r in (threads, procs) if r)
    verdict = _verdict(kind, reason, evidence, notes, families, "medium" if busy or shaky else "high")
    verdict["recommend"] = picks
    return verdict


def _warns(w) -> bool:
    return not isinstance(w, dict) or w.get("severity") == "warn"


def _kind(
    waiting: float, threads: Result | None, procs: Result | None, gil: bool, base: Result
) -> tuple[str, dict]:
    """The kind of work, and its reason as data (sentences: :mod:`producer.report.reasons`)."""
    pair = {"threads": _x(threads), "parallel": _x(procs), "parallel_model": procs and procs.get("model")}
    if waiting >= WAITS:
        if threads and _cls(threads) in ("same", "slower"):
            return "undecided", _reason("waits-serialised", waiting=waiting, threads=_x(threads))
        return "io-bound", _reason("waits", waiting=waiting)
    if waiting >= MIXED:
        return "mixed", _reason("waits-and-computes", waiting=waiting)
    if _scales(threads, base):
        return ("cpu-bound" if not gil else "gil-releasing"), _reason(
            "threads-scaled", threads=_x(threads), gil=gil
        )
    answer = decide.question(
        comparison_of(threads), comparison_of(procs), (cores_of(threads, base), cores_of(procs, base))
    )
    if answer == decide.PARALLEL_WINS and _scales(procs, base) and threads is not None:
        if _cls(threads) == "faster" and not cores_of(threads, base):
            cores = busy_cores(threads)  # what cores_of read: CPU/wall, or for a batch too short
            # for clock ticks its tasks' own CPU time (cpu_util is None then)
            return "cpu-bound", _reason("threads-not-parallel", threads_cores=cores, **pair)
        if _cls(threads) in ("same", "slower"):
            return "cpu-bound", _reason("threads-gained-nothing", **pair)
        return "cpu-bound", _reason("parallel-above-threads", **pair)
    if threads and _cls(threads) in ("same", "slower"):
        if procs is None:
            return "undecided", _reason("threads-gained-nothing-alone", threads=_x(threads))
        if _cls(procs) in ("same", "slower"):
            return "undecided", _reason("neither-faster", **pair)
        return "undecided", _reason("parallel-unclear", **pair)
    if threads is None:
        if _scales(procs, base):
            return "undecided", _reason("no-threads-parallel-scaled", **pair)
        return "undecided", _reason("no-threads")
    if _scales(threads):
        return "undecided", _reason("threads-busy-machine", threads=_x(threads))
    return "undecided", _reason("threads-unclear", threads=_x(threads))


def _reason(code: str, **numbers) -> dict:
    return {"code": code, **numbers}


def _eligible(r: Result | None) -> bool:
    return bool(_usable(r) and _cls(r) == "faster")


def _best(candidates: list[Result]) -> Result | None:
    """The fastest eligible candidate; the cheaper (first) one when their intervals overlap."""
    eligible = [r for r in candidates if _eligible(r)]
    if not eligible:
        return None
    best = eligible[0]
    for r in eligible[1:]:
        if r["comparison"]["low"] > best["comparison"]["high"]:
            best = r
    return best


def _candidates(kind: str, gil: bool, rows: list[Result]) -> list[Result]:
    """Rows in the order of preference for this kind of work: only a GIL per worker for
    GIL-bound computing; else the cheaper model first."""
    rank = {m: i for i, m in enumerate(PREFERENCE)}
    keep = [r for r in rows if r.get("model") in rank]
    if kind == "cpu-bound" and gil:
        keep = [r for r in keep if r.get("shares_gil") is False]
    return sorted(keep, key=lambda r: rank[r["model"]])


def _local_pick(kind: str, gil: bool, results: list[Result]) -> Result | None:
    local = [r for r in results[1:] if r.get("via", "local") == "local"]
    return _best(_candidates(kind, gil, local))


def _broker_pick(
    kind: str, gil: bool, local: Result | None, family: str, results: list[Result]
) -> tuple[str | None, dict | None]:
    rows = [r for r in results[1:] if r["family"] == family and r.get("via") == "broker"]
    if local is not None:
        twins = [r for r in rows if r.get("model") == local.get("model")] or [
            r for r in rows if r.get("shares_gil") is local.get("shares_gil") and r.get("model") in PREFERENCE
        ]  # the same model, else (no such pool, e.g. subinterpreters) one as GIL-free as it
        if not twins:
            return None, finding(
                "broker-twin-missing", "info", family=family, model=local["model"], local=local["backend"]
            )
        twin = _best(twins)
        if twin is None:
            pool = twins[0]["pool"] or twins[0]["backend"]
            return None, finding("broker-twin-not-faster", "info", family=family, pool=pool)
        return twin["pool"] or twin["backend"], None
    best = _best(_candidates(kind, gil, rows))
    if best is None:
        return None, finding("no-broker-pick", "info", family=family)
    return best["pool"] or best["backend"], None


def _verdict(
    kind: str, reason: dict, evidence: dict, notes: list, families: list[str], confidence: str = "none"
) -> Verdict:
    return Verdict(
        kind=kind,
        recommend={"local": None, **dict.fromkeys(families)},
        confidence=confidence if kind != "undecided" else "none",
        reason=reason,
        evidence=evidence,
        notes=notes,
    )
