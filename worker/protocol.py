"""The contract between poolbench's producer and its Celery workers, in one place.

Both sides read it; it imports nothing, so the producer can import it without
importing Celery's worker side or the worker's app. What a worker really runs with
(prefetch, late acks, mingle, gossip) is read back from the worker at run time
through :data:`INFO_COMMAND`, never assumed from these defaults.
"""

from __future__ import annotations

TASK_NAME = "worker.run_workload"
"""The one task: ``run_workload(spec, size[, index[, report]]) -> record``.

``index`` (optional) is echoed in the record, so that a batch is verified by what the
workers say they ran; ``report`` (optional, ``--no-result``) is ``{"token", "total"}``:
the task then stores its record under :func:`completion_keys` itself."""
CHUNK_TASK = "celery.starmap"
"""Celery's built-in task that ``chunks`` sends: one message, several calls of the task."""

INFO_COMMAND = "poolbench_info"
"""Remote-control command a worker answers with the settings it really runs with."""

SERIALIZER = "json"
"""Tasks and results travel as JSON only: nothing pickled crosses the broker."""
ACCEPT_CONTENT = [SERIALIZER]

PREFETCH_MULTIPLIER = 1
"""The default of ``python -m worker``: one message per free slot, none hoarded."""
ACKS_LATE = True
"""Acknowledge after the task ran, so a task whose worker died is delivered again."""
REJECT_ON_WORKER_LOST = True
RESULT_EXPIRES_S = 3600
"""What a batch abandoned after --timeout leaves behind expires after this long."""

COMPLETION_PREFIX = "poolbench:done:"
"""``--no-result``: where tasks report instead of the result backend (see completion_keys)."""


def completion_keys(token: str) -> dict[str, str]:
    """A batch's keys: ``records`` (hash index -> record), ``count`` (runs), ``done`` (a list
    pushed once when ``count`` reaches the batch's total, so the producer need not poll)."""
    if not token or not token.replace("-", "").isalnum():
        raise ValueError(f"not a completion token: {token!r}")
    return {part: f"{COMPLETION_PREFIX}{token}:{part}" for part in ("records", "count", "done")}


POOLS = ("prefork", "threads", "solo", "gevent")
WORKLOAD_FAILED = "WorkloadFailed"
"""Name of the exception a worker raises when the workload itself raised; its two
args are the workload's exception type name and message."""


def queue_for(pool: str) -> str:
    """The queue a pool's workers consume: named after the pool, so backends never mix."""
    return pool


def node_name(pool: str, token: str, host: str) -> str:
    """A worker's node name, unique per replica: ``POOL-TOKEN@HOST``."""
    return f"{pool}-{token}@{host}"


def slots(pool: str, concurrency: int) -> int:
    """How many tasks a worker of this pool runs at once: solo runs one whatever it is told."""
    return 1 if pool == "solo" else concurrency
