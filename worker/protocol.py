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

# Faults: leases, redeliveries, runs. Every worker and the producer must agree on
# these, which is why they are constants here and not settings.
VISIBILITY_TIMEOUT_S = 10
"""kombu's Redis visibility timeout: a message delivered but not acknowledged for this
long is put back on its queue. Workers renew the lease of every message they hold
every LEASE_RENEW_S (``worker.lease``), so only a vanished worker's messages expire,
and a task may run far longer than this."""
LEASE_RENEW_S = 2.0
RESTORE_INTERVAL_S = 1
"""How often each worker sweeps expired leases back onto their queues."""
MAX_DELIVERIES = 3
"""A task whose worker process died this many times is failed, never delivered again."""
SOCKET_TIMEOUT_S = 10.0
"""No Redis command waits longer than this on a connection that went silent."""
HEALTH_CHECK_S = 5
"""A connection idle this long is PINGed before use; a BRPOP overdue by this is dropped."""
KEEPALIVE_S = (5, 2, 3)
"""TCP keepalive: first probe after 5 s idle, then every 2 s, dead after 3 unanswered."""

RUN_HEADER = "poolbench_run"
"""Message header naming the producer's run; a worker drops messages of a run that ended."""
RUN_TTL_S = 10
"""The producer refreshes its run key every RUN_TTL_S / 5; if it dies, the key expires."""
RUN_CHECK_S = 1.0
"""How long a worker trusts what it last learnt about a run (one EXISTS per run and period)."""
DELIVERY_KEY = "poolbench_delivery"
"""Request key: which delivery of its task this is (1 for the first)."""
RESULT_KEY_PREFIX = "celery-task-meta-"
"""Celery's Redis result backend stores a task's result under this prefix plus its id,
and publishes it on a channel of the same name."""
PROCESS_DIED = "ProcessDied"
"""Error type of a task whose worker process died on each of MAX_DELIVERIES deliveries."""

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


def run_key(run_id: str) -> str:
    """Exists while the run is alive (with a TTL the producer keeps refreshing)."""
    return f"poolbench:run:{run_id}"


def deliveries_key(run_id: str | None) -> str:
    """Hash: task id -> how many times it was delivered again (redelivered or retried)."""
    return f"poolbench:run:{run_id}:deliveries" if run_id else "poolbench:deliveries"


def heartbeat_key(queue: str) -> str:
    """Hash: node name -> JSON ``{"at", "pid", "held": [task ids]}`` of the workers on a queue, and
    ``outages``, ``outage_s``, ``failed`` once a worker's beats have failed (``worker.lease``)."""
    return f"poolbench:workers:{queue}"


def transport_options() -> dict:
    """kombu's Redis transport options, identical on the producer and every worker.

    Keepalive, a socket timeout and health checks keep a half-open connection (a peer
    gone without a FIN, a cut link) from wedging a process: it is noticed and reopened.
    """
    import socket  # standard library only: this module imports nothing of Celery

    idle, interval, count = KEEPALIVE_S
    keepalive = {}
    for name, value in (("TCP_KEEPIDLE", idle), ("TCP_KEEPINTVL", interval), ("TCP_KEEPCNT", count)):
        if hasattr(socket, name):
            keepalive[getattr(socket, name)] = value
    return {
        "visibility_timeout": VISIBILITY_TIMEOUT_S,
        "unacked_restore_interval": RESTORE_INTERVAL_S,
        "unacked_restore_throttle": 1,
        "unacked_mutex_expire": 5,
        "socket_timeout": SOCKET_TIMEOUT_S,
        "socket_connect_timeout": 3.0,
        "socket_keepalive": True,
        "socket_keepalive_options": keepalive,
        "health_check_interval": HEALTH_CHECK_S,
    }


def slots(pool: str, concurrency: int) -> int:
    """How many tasks a worker of this pool runs at once: solo runs one whatever it is told."""
    return 1 if pool == "solo" else concurrency
