"""The one task, ``worker.run_workload``: run an allowed workload, timed where it runs.

The record is the one ``workloads.run_task`` makes for every local backend (so the
checksums compare), plus what only the worker knows: when its process received the
message and which Celery node ran it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from celery.exceptions import Ignore
from celery.worker import state
from celery.worker.request import Request

import workloads
from worker import protocol
from worker.app import app, settings
from worker.guard import STORE_PATIENCE_S, Guard

RECEIVED_KEY = "poolbench_received"


class WorkloadFailed(Exception):
    """Raised when the workload itself raised; Celery then marks the task FAILURE.

    It carries the original type name and message as its two ``args``. The producer
    never imports ``worker``: Celery rebuilds an exception whose module is not loaded
    as a new class of the same name with the same args, so ``("ValueError", "boom")``
    reaches it intact either way.
    """

    def __init__(self, type_name: str, message: str):
        super().__init__(type_name, message)
        self.type_name, self.message = type_name, message

    def __str__(self) -> str:
        return f"{self.type_name}: {self.message}"


class WorkloadNotAllowed(Exception):
    """Raised for a workload spec this worker was not started to run."""


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


@app.task(
    name=protocol.TASK_NAME,
    bind=True,
    Request=StampedRequest,
    throws=(WorkloadFailed, WorkloadNotAllowed),
    max_retries=protocol.MAX_DELIVERIES - 1,  # retries after a dead worker process: at once, capped
    default_retry_delay=0,
)
def run_workload(self, spec: str, size: int) -> dict:
    """Run ``spec(size)`` once and return its record; raise if the workload raised."""
    spec = check_allowed(spec)
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise ValueError(f"size must be a whole number of at least 0, not {size!r}")
    record = workloads.run_task(spec, size)
    run_id = getattr(self.request, protocol.RUN_HEADER, None)
    if run_id and not GUARD.run_alive(run_id, patience=STORE_PATIENCE_S):
        raise Ignore()  # abandoned while it ran: store nothing, nobody would collect it
    if "error" in record:
        raise WorkloadFailed(record["error"]["type"], record["error"]["message"])
    record.pop("index", None)
    record["received"] = getattr(self.request, RECEIVED_KEY, None)
    record["worker"] = self.request.hostname
    record["delivery"] = getattr(self.request, protocol.DELIVERY_KEY, None) or 1
    if record["delivery"] > 1 or (self.request.delivery_info or {}).get("redelivered"):
        record["redelivered"] = True  # the producer marks the batch as disturbed
    return record
