"""The Celery app that workers run and that the stock ``celery -A worker`` command loads.

Every setting that shapes the measurement is spelled out here, even where it equals
Celery's default, so the report can state them and nobody has to look them up:

- ``worker_prefetch_multiplier=1`` with ``task_acks_late``: a worker holds at most one
  message per free slot, so a batch spreads across replicas instead of being hoarded
  by the first one to connect.
- ``task_reject_on_worker_lost``: a task whose process died is requeued, not lost.
- No task events, no sent events: they cost a broker write per task and nobody reads them.
- JSON only: nothing pickled crosses the broker.
- ``result_expires`` of an hour: the producer forgets every result it collects; this
  only bounds what a batch abandoned after --timeout leaves behind.

Mingle, gossip and heartbeats are worker command-line switches (see ``__main__``).
The pool is never set here: it belongs to the worker's command line.
"""

from __future__ import annotations

from celery import Celery

from worker.settings import WorkerSettings

TASK_NAME = "worker.run_workload"

settings = WorkerSettings.from_env()

app = Celery("worker", broker=settings.broker_url, backend=settings.broker_url, include=["worker.tasks"])
app.conf.update(
    accept_content=["json"],
    result_accept_content=["json"],
    task_serializer="json",
    result_serializer="json",
    worker_prefetch_multiplier=1,
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    task_ignore_result=False,
    worker_send_task_events=False,
    task_send_sent_event=False,
    result_expires=3600,
    worker_concurrency=settings.concurrency,
    broker_connection_retry_on_startup=True,
)
