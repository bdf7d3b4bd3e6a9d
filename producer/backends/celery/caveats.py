"""What a Celery backend's numbers carry with them: known pool behaviours that distort a
comparison, and the faults its run met (reported with its numbers, and keeping it unranked)."""

from __future__ import annotations

CAVEATS = {
    "gevent": "Celery's gevent pool notices a freed slot only after its 2 s broker wait "
    "(celery/worker/loops.py synloop) when prefetch is 1 with late acks: batches larger "
    "than its concurrency stall up to 2 s; compare it with --tasks <= --concurrency",
}
"""Known pool behaviours that distort a comparison, reported with its numbers."""
FREE_THREADED_GEVENT = (
    "a gevent pool on a free-threaded Python: gevent turns the GIL back on when it loads, and "
    "its greenlets run one at a time in one thread anyway, so free threading gains it nothing"
)


def caveats_of(pool: str, pythons: list[dict], incidents: list[dict], incident_count: int) -> list[str]:
    """The pool's known distortions, for the interpreters its workers run, and the run's faults."""
    found = [CAVEATS[pool]] if pool in CAVEATS else []
    if pool == "gevent" and any(p.get("free_threaded_build") for p in pythons):
        found.append(FREE_THREADED_GEVENT)
    if incident_count:
        kinds = sorted({incident["kind"] for incident in incidents})
        found.append(
            f"faults during the run ({incident_count}: {', '.join(kinds)}; see the disturbed "
            "rounds and settings.faults): the times of those rounds include the recovery"
        )
    return found
