"""When chunking pays: a message's measured cost against a task's measured run time.

A Celery pool slot pays for every message it handles (hand-off, acknowledge, store the
result, fetch the next). ``--chunks N`` puts N calls in one message and pays it once for
all N. That cost is measured directly, with a burst of no-op tasks at the backend's start
(:mod:`producer.backends.celery.overhead`, ``settings.message_cost``), never read from the
gaps between the real tasks: on a pool whose slots share one GIL, computing tasks keep
the worker's consumer thread from the GIL, and slots idle waiting for it, not for messages.
Chunking fixes nothing there; such a pool is named as GIL-starved instead.

:func:`advise` is the decision, pure; :func:`chunking_notes` reads a document and
returns findings for ``verdict["notes"]``, apart from the verdict's own logic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from producer.report.document import Document, finding

PAYS = 0.20
"""A message's cost at or above this share of a slot's time: chunking pays."""
NEGLIGIBLE = 0.05
"""Below this share: chunking would not pay (and nothing is said)."""
TARGET = 0.10
"""A suggested chunk size brings the cost per call down to this share of a call's run."""
STARVED = 3.0
"""Slots idling this many times a message's measured cost, between computing tasks, on a
pool that shares one GIL: the consumer is starved of the GIL."""
COMPUTES = 0.5
"""Tasks spending this share of their time on a CPU compute (the baseline's time split,
run-queue time left out)."""


@dataclass(frozen=True)
class Advice:
    verdict: str
    """``pays``, ``marginal``, ``no``, or ``unknown``."""
    share: float | None
    """Cost per call / (cost per call + run per call)."""
    suggest: int | None
    """A --chunks value to try; None when nothing better is to be had."""


def advise(run_s: float, message_gap_s: float, chunks: int, tasks: int, concurrency: int) -> Advice:
    """Decide from a message's cost on a slot and a call's run time (both medians)."""
    per_call = message_gap_s / max(1, chunks)
    if run_s <= 0 and per_call <= 0:
        return Advice("unknown", None, None)
    share = per_call / (per_call + run_s) if per_call + run_s > 0 else 0.0
    largest = max(1, tasks // max(1, concurrency))  # keep one message per slot at least
    wanted = math.ceil(message_gap_s / (TARGET * run_s)) if run_s > 0 else largest
    suggest = min(max(1, wanted), largest)
    if largest <= chunks:  # every slot gets one message at most already: nothing to save
        return Advice("no", share, None)
    if share >= PAYS:
        return Advice("pays", share, suggest if suggest > chunks else None)
    if share < NEGLIGIBLE:
        return Advice("no", share, None)
    return Advice("marginal", share, suggest if suggest > chunks else None)


def _holds_the_gil(r: dict, computes: bool) -> bool:
    """Computing tasks on a pool whose slots are threads of one interpreter with a GIL."""
    gil = (r.get("python") or {}).get("gil_enabled") is not False
    return bool(computes and gil and r.get("shares_gil") and r.get("model") == "threads")


def _starved(r: dict, cost: dict) -> dict | None:
    """Such a pool's slots idle far beyond a message's cost: its consumer waits for the GIL."""
    b = r.get("breakdown") or {}
    gap, queue = b.get("slot_gap_s"), b.get("queue_wait_s") or r.get("queue_wait_s")
    if not gap or gap["median"] < STARVED * cost["message_s"]:
        return None
    return finding(
        "gil-starved-consumer",
        "warn",
        backend=r["backend"],
        gap_s=gap["median"],
        queue_s=(queue or {}).get("median", 0.0),
        message_s=cost["message_s"],
    )


def _note(r: dict, settings: dict, computes: bool) -> dict | None:
    cost = (r.get("settings") or {}).get("message_cost")
    run = (r.get("breakdown") or {}).get("run_s") or r.get("task_run_s")
    if not cost or not run:
        return None
    if _holds_the_gil(r, computes):  # its slots wait for the GIL: chunking is never the advice
        return _starved(r, cost)
    chunks, tasks = settings.get("chunks") or 1, settings["tasks"]
    advice = advise(run["median"], cost["message_s"], chunks, tasks, r.get("concurrency") or 1)
    if advice.verdict not in ("pays", "marginal"):
        return None
    return finding(
        f"chunking-{advice.verdict}",
        "info",
        backend=r["backend"],
        message_s=cost["message_s"],
        probe_tasks=cost["tasks"],
        run_s=run["median"],
        share=advice.share,
        suggest=advice.suggest,
    )


def _computing_share(split: dict) -> float:
    """The share of the baseline's time on a CPU, leaving out time queued for one: a busy
    machine's starvation (run queue), not what the work does, as the verdict reads it."""
    own = split["cpu"] + split.get("waiting", 0.0)
    return split["cpu"] / own if own > 0 else 0.0


def chunking_notes(doc: Document) -> list[dict]:
    """At most one finding per verified broker backend that measured a message's cost."""
    split = doc["results"][0].get("time_split") if doc["results"] else None
    computes = bool(split and _computing_share(split) >= COMPUTES)
    notes = []
    for r in doc["results"]:
        if r.get("via") == "broker" and r.get("ok"):
            if note := _note(r, doc["settings"], computes):
                notes.append(note)
    return notes
