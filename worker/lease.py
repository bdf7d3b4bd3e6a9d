"""A visibility heartbeat: the worker keeps the messages it holds, and says it is alive.

kombu's Redis transport keeps each delivered, unacknowledged message in the
``unacked`` hash and its delivery time in the ``unacked_index`` sorted set; any
consumer puts back on its queue a message whose time is older than the visibility
timeout (``QoS.restore_visible``, every RESTORE_INTERVAL_S here). A short timeout alone
would also take the messages of a task that is merely long. So every LEASE_RENEW_S a
thread of the worker's main process moves the time of every message its consumer
holds to now, as SQS consumers do with ``ChangeMessageVisibility``: only a worker that
is gone, or cut off, lets its messages expire, and they are delivered again within
about VISIBILITY_TIMEOUT_S.

The same beat records the worker under ``heartbeat_key(queue)``: when, its pid, and
the task ids it holds. The producer reads it to notice a vanished worker and to name
the tasks it took with it.

Once a beat has had trouble, it also says so: ``outages`` counts the times its beats
failed, or none got through for over STALL_S; ``outage_s`` is the last one's length (the
gap between the beats that got through around it, on this worker's own clock, so no
two hosts' clocks need agree) and ``failed`` how many beats failed in it. The producer
tells it as an incident of its batch: a fault on a worker's own link to Redis, which the
producer's PINGs do not cross.

The thread is a real one even under gevent, so a greenlet that hogs the CPU cannot
stop the beat; a task that holds the GIL without a break for longer than the
visibility timeout (one C call) can, and its message is then delivered again.
"""

from __future__ import annotations

import _thread
import json
import logging
import os
import sys
import time

import redis
from celery import bootsteps
from celery.worker import state

from worker import protocol

logger = logging.getLogger(__name__)
_STEP_S = 0.2
STALL_S = 2 * protocol.LEASE_RENEW_S
"""No beat through for longer than this is an outage, even if none failed (they take 2 to 2.2 s)."""


def _native_thread_and_sleep():
    """``start_new_thread`` and ``sleep`` as the OS has them, even after gevent patched them."""
    monkey = sys.modules.get("gevent.monkey")
    if monkey is not None and monkey.is_module_patched("threading"):
        return monkey.get_original("_thread", "start_new_thread"), monkey.get_original("time", "sleep")
    return _thread.start_new_thread, time.sleep


class Renewer:
    """Renews the leases of a consumer's messages and beats its heartbeat, in its own thread."""

    def __init__(self, consumer, url: str):
        self.consumer = consumer
        self.node = consumer.hostname
        self.client = redis.Redis.from_url(
            url,
            socket_timeout=protocol.LEASE_RENEW_S * 2,
            socket_connect_timeout=3.0,
            socket_keepalive=True,
            health_check_interval=protocol.HEALTH_CHECK_S,
        )
        self._stopping = False
        self._queues: list[str] = []
        self.outages = 0
        self.outage_s = 0.0
        self.failed_beats = 0
        """Beats that failed in the last outage."""
        self._failing = 0
        """Beats that failed since the last that got through."""
        self._last_ok: float | None = None

    def start(self) -> None:
        start_thread, self._sleep = _native_thread_and_sleep()
        start_thread(self._run, ())

    def stop(self) -> None:
        self._stopping = True

    def forget(self) -> None:
        """On shutdown: take this worker off the heartbeat lists at once (best effort)."""
        self._stopping = True
        try:
            for queue in self._queues:
                self.client.hdel(protocol.heartbeat_key(queue), self.node)
        except redis.RedisError:
            pass  # it ages out: the producer treats a silent entry as a vanished worker

    def _run(self) -> None:
        next_beat = 0.0
        while not self._stopping:
            if time.monotonic() >= next_beat:
                next_beat = time.monotonic() + protocol.LEASE_RENEW_S
                try:
                    self.beat()
                except redis.RedisError as exc:
                    self._failing += 1
                    logger.debug("lease renewal failed: %r", exc)
                except Exception:  # never let the heartbeat die quietly (not Redis: no outage)
                    logger.exception("lease renewal failed")
                else:
                    if self._got_through():  # an outage ended: the next beat says so, at once
                        next_beat = time.monotonic()
            self._sleep(_STEP_S)
        self.client.close()

    def _got_through(self) -> bool:
        """A beat got through: whether it ended an outage (now counted, for the next beat to tell)."""
        now = time.monotonic()
        last, self._last_ok = self._last_ok, now
        failed, self._failing = self._failing, 0
        if last is None or (not failed and now - last <= STALL_S):
            return False
        self.outages += 1
        self.outage_s, self.failed_beats = round(now - last, 3), failed
        return True

    def held(self) -> tuple[str | None, dict]:
        """``(unacked_index key, {delivery tag: task id})`` of the tasks this worker holds.

        Celery's own record of its requests (reserved, then running) outlives a lost
        broker connection, where the consumer's channel does not: a task still running
        after Redis restarted is still reported as held.
        """
        task_consumer = getattr(self.consumer, "task_consumer", None)
        if task_consumer is not None:
            self._queues = sorted(q.name for q in task_consumer.queues)
        channel = getattr(task_consumer, "channel", None)
        for _ in range(5):  # the consumer thread may change them while we copy
            try:
                requests = [*state.reserved_requests, *state.active_requests]
                break
            except RuntimeError:
                continue
        else:
            return None, {}
        held = {}
        for request in requests:
            tag = getattr(getattr(request, "message", None), "delivery_tag", None)
            if tag is not None:
                held[tag] = request.id
        return getattr(channel, "unacked_index_key", "unacked_index"), held

    def beat(self) -> None:
        index_key, held = self.held()
        now = time.time()
        pipe = self.client.pipeline(transaction=False)
        if held and index_key:
            pipe.zadd(index_key, {tag: now for tag in held}, xx=True)  # never revive an acked one
        entry = {"at": now, "pid": os.getpid(), "held": sorted(filter(None, held.values()))}
        if self.outages:
            entry.update(outages=self.outages, outage_s=self.outage_s, failed=self.failed_beats)
        for queue in self._queues:
            pipe.hset(protocol.heartbeat_key(queue), self.node, json.dumps(entry))
        pipe.execute()


class LeaseRenewal(bootsteps.StartStopStep):
    """Consumer bootstep: one :class:`Renewer` for the life of the worker.

    It keeps beating while the consumer reconnects (a lost broker restarts the
    consumer's steps): the tasks the worker runs meanwhile are still its own, and the
    producer, once Redis is back, needs to hear at once which they are.
    """

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def __init__(self, parent, **kwargs):
        super().__init__(parent, **kwargs)
        self.renewer: Renewer | None = None

    def start(self, consumer) -> None:
        if self.renewer is None:
            self.renewer = Renewer(consumer, consumer.connection.as_uri(include_password=True))
            self.renewer.start()
        else:
            self.renewer.consumer = consumer

    def stop(self, consumer) -> None:
        """A consumer restart: the renewer goes on (see the class)."""

    def shutdown(self, consumer) -> None:
        if self.renewer is not None:
            self.renewer.forget()
            self.renewer = None
