"""The one task, ``worker.run_workload``: run an allowed workload, timed where it runs.

The record is the one ``workloads.run_task`` makes for every local backend (so the
checksums compare), plus what only the worker knows: when its process received the
message and which Celery node ran it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from celery import signals
from celery.exceptions import Ignore
from celery.worker import state
from celery.worker.request import Request

import workloads
from worker import completion, protocol
from worker.app import app, settings
from worker.failures import WorkloadFailed, WorkloadNotAllowed
from worker.guard import STORE_PATIENCE_S, Guard

RECEIVED_KEY = "poolbench_received"


class StampedRequest(Request):
    """A request that notes when this worker process received the message.

    The request dict is what every pool hands to the thread, greenlet or (pickled)
    child process that runs the task, so a key stamped here arrives as
    ``self.request.poolbench_received`` under prefork, threads, solo and gevent alike.
    """

    def __init__(self, *args, **kwargs):
        received = time.time()
        super().__init__(*args, **kwargs)
        self._request_dict[RECEIVED_KEY] = received
        self._guarded = False

    def revoked(self) -> bool:
        """Celery's check before running a message, plus poolbench's (:mod:`worker.guard`)."""
        if super().revoked():
            return True
        if self._guarded:
            return False
        self._guarded = True
        delivery, action = GUARD.admit(self, _holds_another)
        self._request_dict[protocol.DELIVERY_KEY] = delivery
        if action is None:
            return False
        state.task_ready(self)
        action(self)
        self._already_revoked = True  # the worker now skips it, as a revoked task
        return True


def _holds_another(request) -> bool:
    """Whether this worker runs another delivery of the same task right now.

    Running only: a reserved request that had not started when the connection was lost
    may never start (Celery drops what waits for a slot), so its redelivery must run.
    """
    return any(other.id == request.id and other is not request for other in list(state.active_requests))


GUARD = Guard(lambda: app.conf.broker_url)


_allowed: set[str] = set()


def allow(specs: Iterable[str]) -> None:
    """Add workload specs to the allow-list; call before the pool forks its children."""
    _allowed.update(workloads.canonical(spec) for spec in specs)


def allowed() -> frozenset[str]:
    return frozenset(_allowed)


def check_allowed(spec: str) -> str:
    spec = workloads.canonical(spec)
    if spec not in workloads.BUILTINS and spec not in _allowed:
        raise WorkloadNotAllowed(
            f"workload '{spec}' is not allowed on this worker; start it with --allow {spec} "
            f"or WORKLOAD_MODULES={spec}"
        )
    return spec


allow(settings.allow)


@signals.task_received.connect
def _stamp_chunk(sender=None, request=None, **_):
    """Note when a chunk's message (``celery.starmap``) arrived, as StampedRequest does for ours."""
    if request is not None and request.name == protocol.CHUNK_TASK:
        request._request_dict.setdefault(RECEIVED_KEY, time.time())


@signals.task_postrun.connect
def _flush_chunk(sender=None, task_id=None, kwargs=None, **_):
    """A chunk ended, its calls done or stopped by a failure: store their reports together."""
    if sender is not None and sender.name == protocol.CHUNK_TASK and task_id:
        completion.flush(settings.broker_url, task_id, (kwargs or {}).get("it") or [])


def _message_request(task):
    """The request of the message that brought this call: a chunk's, when ``chunks`` sent it.

    Inside ``celery.starmap`` the task is called directly, with a request of its own that
    knows neither the node nor the receipt; the chunk's request knows both.
    """
    if task.request.id is None:
        chunk = app.tasks.get(protocol.CHUNK_TASK)
        if chunk is not None and chunk.request.id is not None:
            return chunk.request
    return task.request


def _report(task, message, report: dict, index: int, record: dict) -> None:
    if message is task.request:
        completion.report(settings.broker_url, report, index, record)
    else:  # a chunk's call: stored with the chunk's others when it ends
        completion.defer(message.id, report, index, record)


def _run(spec: str, size: int) -> dict:
    spec = check_allowed(spec)
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise ValueError(f"size must be a whole number of at least 0, not {size!r}")
    record = workloads.run_task(spec, size)
    if "error" in record:
        raise WorkloadFailed(record["error"]["type"], record["error"]["message"])
    record.pop("index", None)
    return record


@app.task(
    name=protocol.TASK_NAME,
    bind=True,
    Request=StampedRequest,
    throws=(WorkloadFailed, WorkloadNotAllowed),
    max_retries=protocol.MAX_DELIVERIES - 1,  # retries after a dead worker process: at once, capped
    default_retry_delay=0,
)
def run_workload(self, spec: str, size: int, index: int | None = None, report: dict | None = None) -> dict:
    """Run ``spec(size)`` once and return its record; raise if the workload raised.

    ``index`` is echoed in the record. With ``report`` (``--no-result``) the record, or
    the failure, is also stored where the producer waits for it (:mod:`worker.completion`).
    """
    message = _message_request(self)
    if index is not None and (isinstance(index, bool) or not isinstance(index, int)):
        raise ValueError(f"index must be a whole number, not {index!r}")
    if report is not None and index is None:
        raise ValueError("a task that reports its completion needs its index")
    try:
        record = _identify(message, index, _run(spec, size))
        _store_only_for_a_live_run(message)
    except Ignore:
        raise
    except Exception as exc:
        if report is not None:  # a failure is an answer too: the producer must not wait for it
            kind, text = (
                (exc.type_name, exc.message)
                if isinstance(exc, WorkloadFailed)
                else (type(exc).__name__, str(exc))
            )
            failed = _identify(message, index, {"error": {"type": kind, "message": text}})
            _report(self, message, report, index, failed)
        raise
    if report is not None:
        _report(self, message, report, index, record)
    return record


def _store_only_for_a_live_run(message) -> None:
    """A run abandoned while its task ran gets nothing stored: nobody would collect it."""
    run_id = getattr(message, protocol.RUN_HEADER, None)
    if run_id and not GUARD.run_alive(run_id, patience=STORE_PATIENCE_S):
        raise Ignore()


def _identify(message, index: int | None, record: dict) -> dict:
    record["received"] = getattr(message, RECEIVED_KEY, None)
    record["worker"] = message.hostname
    record["delivery"] = getattr(message, protocol.DELIVERY_KEY, None) or 1
    if record["delivery"] > 1 or (message.delivery_info or {}).get("redelivered"):
        record["redelivered"] = True  # the producer marks the batch as disturbed
    if index is not None:
        record["index"] = index
    return record
