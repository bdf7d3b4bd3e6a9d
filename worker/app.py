"""The Celery app that workers run and that the stock ``celery -A worker`` command loads.

Every setting that shapes the measurement comes from :mod:`worker.protocol`, even
where it equals Celery's default, so nobody has to look it up:

- prefetch multiplier 1 with late acks: a worker holds at most one message per free
  slot, so a batch spreads across replicas instead of being hoarded by the first one.
- ``task_reject_on_worker_lost``: a task whose process died is requeued, not lost.
- No task events, no sent events: they cost a broker write per task and nobody reads them.
- JSON only: nothing pickled crosses the broker.
- Faults (``worker.protocol``): a short visibility timeout whose leases the worker
  renews (``worker.lease``), so a vanished worker's tasks go back to the queue within
  seconds; a task whose process died is retried at once, at most MAX_DELIVERIES times
  in all; keepalive, socket timeouts and health checks on every Redis connection, so
  a half-open one is noticed and reopened; results stored with retries for about as
  long as the producer waits for a lost broker.

These are defaults: a worker's command line may override them, which is why the
producer asks each worker what it really runs with (``worker.inspect``), never assumes.
Mingle, gossip and heartbeats are worker command-line switches (see ``__main__``).
The pool is never set here: it belongs to the worker's command line.
"""

from __future__ import annotations

from celery import Celery

from worker import protocol
from worker.lease import LeaseRenewal
from worker.settings import WorkerSettings

TASK_NAME = protocol.TASK_NAME

settings = WorkerSettings.from_env()

app = Celery(
    "worker",
    broker=settings.broker_url,
    backend=settings.broker_url,
    include=["worker.tasks", "worker.inspect"],
)


def broker_options(concurrency: int) -> dict:
    """kombu's transport options, with a connection pool as large as the pool of tasks.

    A threads or gevent worker acknowledges from as many threads or greenlets as it runs
    tasks, each on a connection of its own: kombu's default cap of 10 makes acks fail
    (``MaxConnectionsError``) and the worker drop its broker connection under load.
    """
    return {**protocol.transport_options(), "max_connections": max(10, concurrency + 10)}


RESULT_RETRY_POLICY = {"max_retries": 20, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}
"""About 20 s of attempts to store a result while Redis is away (the producer waits 15 s)."""
app.conf.update(
    accept_content=protocol.ACCEPT_CONTENT,
    result_accept_content=protocol.ACCEPT_CONTENT,
    task_serializer=protocol.SERIALIZER,
    result_serializer=protocol.SERIALIZER,
    worker_prefetch_multiplier=protocol.PREFETCH_MULTIPLIER,
    task_acks_late=protocol.ACKS_LATE,
    task_reject_on_worker_lost=protocol.REJECT_ON_WORKER_LOST,
    task_retry_on_worker_lost=True,
    broker_transport_options=broker_options(settings.concurrency),
    result_backend_transport_options={"retry_policy": RESULT_RETRY_POLICY},
    result_backend_always_retry=True,
    result_backend_max_retries=RESULT_RETRY_POLICY["max_retries"],
    result_backend_base_sleep_between_retries_ms=100,
    result_backend_max_sleep_between_retries_ms=1000,
    redis_socket_timeout=protocol.SOCKET_TIMEOUT_S,
    redis_socket_connect_timeout=3.0,
    redis_socket_keepalive=True,
    redis_backend_health_check_interval=protocol.HEALTH_CHECK_S,
    task_ignore_result=False,
    worker_send_task_events=False,
    task_send_sent_event=False,
    result_expires=protocol.RESULT_EXPIRES_S,
    worker_concurrency=settings.concurrency,
    broker_connection_retry_on_startup=True,
)
app.steps["consumer"].add(LeaseRenewal)
