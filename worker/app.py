"""The Celery app that workers run and that the stock ``celery -A worker`` command loads.

Every setting that shapes the measurement comes from :mod:`worker.protocol`, even
where it equals Celery's default, so nobody has to look it up:

- prefetch multiplier 1 with late acks: a worker holds at most one message per free
  slot, so a batch spreads across replicas instead of being hoarded by the first one.
- ``task_reject_on_worker_lost``: a task whose process died is requeued, not lost.
- No task events, no sent events: they cost a broker write per task and nobody reads them.
- JSON only: nothing pickled crosses the broker.

These are defaults: a worker's command line may override them, which is why the
producer asks each worker what it really runs with (``worker.inspect``), never assumes.
Mingle, gossip and heartbeats are worker command-line switches (see ``__main__``).
The pool is never set here: it belongs to the worker's command line.
"""

from __future__ import annotations

from celery import Celery

from worker import protocol
from worker.settings import WorkerSettings

TASK_NAME = protocol.TASK_NAME

settings = WorkerSettings.from_env()

app = Celery(
    "worker",
    broker=settings.broker_url,
    backend=settings.broker_url,
    include=["worker.tasks", "worker.inspect"],
)
app.conf.update(
    accept_content=protocol.ACCEPT_CONTENT,
    result_accept_content=protocol.ACCEPT_CONTENT,
    task_serializer=protocol.SERIALIZER,
    result_serializer=protocol.SERIALIZER,
    worker_prefetch_multiplier=protocol.PREFETCH_MULTIPLIER,
    task_acks_late=protocol.ACKS_LATE,
    task_reject_on_worker_lost=protocol.REJECT_ON_WORKER_LOST,
    task_ignore_result=False,
    worker_send_task_events=False,
    task_send_sent_event=False,
    result_expires=protocol.RESULT_EXPIRES_S,
    worker_concurrency=settings.concurrency,
    broker_connection_retry_on_startup=True,
)
