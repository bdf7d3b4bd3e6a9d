"""What a worker checks before it runs a message: is its run alive, how often was it delivered.

Called in the worker's main process for every message (``StampedRequest.revoked``):

- A message names the producer's run (``RUN_HEADER``). A run that ended, cleanly or
  with its producer killed, has no run key any more; its messages are dropped,
  acknowledged and never run, so an abandoned batch never runs later. What a worker
  learns of a live run holds for RUN_CHECK_S: one ``EXISTS`` per run and second, not
  one per task. A run found dead is asked again each time.
- A run key missing from a Redis that restarted since the worker saw the run alive (its
  ``run_id`` changed) is not yet an ended run: the restart lost the key, and a live
  producer writes it again as soon as it is back. The worker waits RESTART_GRACE_S for
  it. (Without the wait, a task finished in that moment had its result dropped, was
  found lost by the producer and ran again.)
- A message that comes back (kombu restored it after its worker vanished) is counted
  in Redis; a task delivered more than MAX_DELIVERIES times is failed, not run again,
  so a task that kills its worker cannot loop. A prefork child's death is handled by
  Celery itself (``task_retry_on_worker_lost`` with ``max_retries``), and counts too.
- A message this worker holds already (restored while it was cut off from Redis, and
  delivered back to it) is dropped: the delivery it holds finishes the task.
- After a task ran, its result is stored only if its run is still alive
  (``worker.tasks``): a run abandoned meanwhile gets nothing stored, so nothing of it
  is left in Redis. Cut off from Redis, the task waits for an answer as long as
  Celery would retry storing the result (STORE_PATIENCE_S).

The first delivery of a live run's task costs nothing but a dictionary lookup.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import redis

from worker import protocol
from worker.failures import WorkloadFailed

logger = logging.getLogger(__name__)

STORE_PATIENCE_S = 20.0
"""About as long as the worker retries storing a result (``worker.app.RESULT_RETRY_POLICY``)."""
RESTART_GRACE_S = 3.0
"""How long a run key lost with a restarted Redis is waited for (the producer writes it
again within half a second of seeing Redis back: ``producer.backends.celery.recovery``)."""
_GRACE_POLL_S = 0.1
Action = Callable[[object], None]
"""What to do with a request instead of running it."""


class Guard:
    def __init__(self, url: Callable[[], str]):
        self.url = url
        """The broker's URL, asked on first use (``celery -b`` may set it after import)."""
        self._client: redis.Redis | None = None
        self._alive_until: dict[str, float] = {}
        self._seen_on: dict[str, str] = {}
        """Each run seen alive, and the ``run_id`` of the Redis it was seen on."""

    @property
    def client(self) -> redis.Redis:
        if self._client is None:  # made on first use, in the process that uses it
            self._client = redis.Redis.from_url(
                self.url(), socket_timeout=protocol.SOCKET_TIMEOUT_S, socket_connect_timeout=3.0
            )
        return self._client

    def run_alive(self, run_id: str, patience: float = 0.0) -> bool:
        """Whether the run's key exists. If Redis cannot say, ask again for ``patience``
        seconds, then answer yes: never drop work only because Redis blinked."""
        now = time.monotonic()
        if self._alive_until.get(run_id, 0.0) > now:
            return True
        give_up = now + patience
        while True:
            try:
                alive = self._ask(run_id)
                break
            except redis.RedisError:
                if time.monotonic() >= give_up:
                    return True
                time.sleep(0.5)
        if alive:
            self._alive_until[run_id] = time.monotonic() + protocol.RUN_CHECK_S
        else:
            self._alive_until.pop(run_id, None)
            self._seen_on.pop(run_id, None)
        return alive

    def _ask(self, run_id: str) -> bool:
        """Whether the run's key exists, waiting briefly for one a Redis restart lost."""
        key = protocol.run_key(run_id)
        if self.client.exists(key):
            if run_id not in self._seen_on:
                self._seen_on[run_id] = self._redis_run_id()
            return True
        seen_on = self._seen_on.get(run_id)
        if seen_on is None or self._redis_run_id() == seen_on:
            return False  # ended, on the Redis it ran on (or never seen alive here)
        deadline = time.monotonic() + RESTART_GRACE_S
        while time.monotonic() < deadline:
            time.sleep(_GRACE_POLL_S)
            if self.client.exists(key):
                self._seen_on[run_id] = self._redis_run_id()
                return True
        return False

    def _redis_run_id(self) -> str:
        """Which Redis this is: its ``run_id``, new with each start ("" if INFO is refused)."""
        try:
            return str(self.client.info("server").get("run_id", ""))
        except redis.ResponseError:  # a managed Redis may refuse INFO: then no grace, as before
            return ""

    def count_delivery(self, run_id: str | None, task_id: str) -> int:
        """Count one more later delivery of this task; how many so far (0 if Redis cannot say)."""
        key = protocol.deliveries_key(run_id)
        try:
            pipe = self.client.pipeline(transaction=False)
            pipe.hincrby(key, task_id, 1)
            pipe.expire(key, protocol.RESULT_EXPIRES_S)
            return int(pipe.execute()[0])
        except redis.RedisError:
            return 0

    def admit(self, request, holds_another: Callable[[object], bool]) -> tuple[int, Action | None]:
        """``(delivery number, None)`` to run the request, or an action that replaces running it."""
        headers = request.request_dict
        run_id = headers.get(protocol.RUN_HEADER)
        if run_id and not self.run_alive(run_id):
            return 0, drop(f"its run {run_id} has ended")
        retries = int(headers.get("retries") or 0)  # Celery ran it again after its process died
        redelivered = bool((request.delivery_info or {}).get("redelivered"))  # kombu gave it back
        if redelivered and holds_another(request):
            return 0, drop("this worker holds another delivery of it")
        delivery = 1 + retries
        if redelivered or retries:  # every later delivery counts once, of whichever kind
            # A retry and a restored copy of one earlier delivery can both arrive: each takes
            # its own number, so that no task runs more than MAX_DELIVERIES times.
            delivery = 1 + max(retries, self.count_delivery(run_id, request.id))
        if delivery > protocol.MAX_DELIVERIES:
            return delivery, fail(
                f"its worker vanished while it ran, on each of its {delivery - 1} deliveries; "
                "it is not delivered again"
            )
        return delivery, None


def drop(reason: str) -> Action:
    """Acknowledge and forget the message: no run, no result."""

    def act(request) -> None:
        logger.warning("dropped task %s: %s", request.id, reason)
        request.acknowledge()

    return act


def fail(message: str) -> Action:
    """Store a failure the producer reads as ``ProcessDied``, and acknowledge the message."""

    def act(request) -> None:
        logger.error("failed task %s: %s", request.id, message)
        request.task.backend.mark_as_failure(
            request.id, WorkloadFailed(protocol.PROCESS_DIED, message), request=request._context
        )
        request.acknowledge()

    return act
