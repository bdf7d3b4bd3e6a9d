"""When chunking pays: the measured per-message overhead against the measured run time.

A Celery pool slot spends time between tasks on moving messages (acknowledge, store
the result, fetch and hand over the next message): the breakdown's slot gap. That
cost is paid per *message*; ``--chunks N`` puts N calls in one message and pays it
once for all N. It pays when the overhead is a large share of a slot's time, and as
long as every slot still gets a message (``tasks / N >= concurrency``); it does not
when the tasks are long, and it costs balance when chunks outnumber nothing to share.

:func:`advise` is the decision, pure; :func:`chunking_notes` reads a document and
returns sentences for ``verdict["notes"]``, apart from the verdict's own logic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from producer.report.declared import through_broker
from producer.report.document import Document
from producer.report.table import ms

PAYS = 0.20
"""Overhead at or above this share of a slot's time: chunking pays."""
NEGLIGIBLE = 0.05
"""Overhead below this share: chunking would not pay."""
TARGET = 0.10
"""A suggested chunk size brings the overhead per call down to this share of a call's run."""


@dataclass(frozen=True)
class Advice:
    verdict: str
    """``pays``, ``marginal``, ``no``, or ``unknown``."""
    share: float | None
    """Overhead per call / (overhead per call + run per call)."""
    suggest: int | None
    """A --chunks value to try; None when nothing better is to be had."""


def advise(run_s: float, message_gap_s: float, chunks: int, tasks: int, concurrency: int) -> Advice:
    """Decide from a message's overhead on a slot and a call's run time (both medians)."""
    per_call = message_gap_s / max(1, chunks)
    if run_s <= 0 and per_call <= 0:
        return Advice("unknown", None, None)
    share = per_call / (per_call + run_s) if per_call + run_s > 0 else 0.0
    largest = max(1, tasks // max(1, concurrency))  # keep one message per slot at least
    wanted = math.ceil(message_gap_s / (TARGET * run_s)) if run_s > 0 else largest
    suggest = min(max(1, wanted), largest)
    if share >= PAYS:
        return Advice("pays", share, suggest if suggest > chunks else None)
    if share < NEGLIGIBLE:
        return Advice("no", share, None)
    return Advice("marginal", share, suggest if suggest > chunks else None)


def _note(backend: str, b: dict, settings: dict, concurrency: int) -> str | None:
    chunks, tasks = settings.get("chunks") or 1, settings["tasks"]
    gap = b.get("message_gap_s") if chunks > 1 else b.get("slot_gap_s")
    run = b.get("run_s")
    if not run:
        return None
    if not gap:
        inside = b.get("slot_gap_s") if chunks > 1 else None
        within = (
            f"with {chunks} calls per message a pool slot idled {ms(inside['median'])} (IQR "
            f"{ms(inside['iqr'])}) between calls against {ms(run['median'])} of work per call; "
            if inside
            else ""
        )
        return (
            f"Chunking, {backend}: {within}no pool slot ran two messages in a batch, so the overhead "
            f"between messages was not measured; send more messages than --concurrency ({concurrency}) "
            "to see it."
        )
    advice = advise(run["median"], gap["median"], chunks, tasks, concurrency)
    idle = f"{ms(gap['median'])} (IQR {ms(gap['iqr'])})"
    work = f"{ms(run['median'])} (IQR {ms(run['iqr'])})"
    if chunks == 1:
        facts = f"a pool slot idled {idle} between tasks against {work} of work per task"
    else:
        facts = (
            f"with {chunks} calls per message, a pool slot idled {idle} between messages "
            f"({ms(gap['median'] / chunks)} per call) against {work} of work per call"
        )
    share = f"{advice.share:.0%} of a slot's time" if advice.share is not None else "an unknown share"
    try_it = (
        f"; try --chunks {advice.suggest} (calls per message; keeps --tasks / --chunks >= --concurrency)"
        if advice.suggest
        else ""
    )
    if advice.verdict == "pays":
        return f"Chunking pays on {backend}: {facts}, {share} spent moving messages{try_it}."
    if advice.verdict == "marginal":
        return f"Chunking would gain a little on {backend}: {facts}, {share}{try_it}."
    if advice.verdict == "no":
        return f"Chunking would not pay on {backend}: {facts}, only {share}."
    return None


def chunking_notes(doc: Document) -> list[str]:
    """One sentence per verified Celery backend with a breakdown."""
    notes = []
    for r in doc["results"]:
        if through_broker(r) and r.get("ok") and r.get("breakdown"):
            note = _note(r["backend"], r["breakdown"], doc["settings"], r.get("concurrency") or 1)
            if note:
                notes.append(note)
    return notes
