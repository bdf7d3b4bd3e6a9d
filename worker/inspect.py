"""``poolbench_info``: a worker says what it really runs with.

``inspect().conf()`` shows the app's configuration, not the command line's overrides
(``--prefetch-multiplier 4`` still reads 1 there), and mingle and gossip appear in
neither ``conf`` nor ``stats``. This command reads the running consumer instead: its
bootsteps, its prefetch multiplier and live prefetch count, its pool, the task's own
acks settings, the interpreter its tasks run on, with the GIL's state now (a library
that turned it back on in a free-threaded build is named: :mod:`workloads.gil`), its
process id and host (so that an embedded worker's memory can be sampled), the CPUs
and CPU quota it may use, and its round trip to the broker (:mod:`worker.rtt`). It is
registered when the app loads, so the stock ``celery -A worker worker`` answers it too.
"""

from __future__ import annotations

import os
import socket

from celery.worker.control import inspect_command

import workloads
from worker import cgroup, protocol
from worker.rtt import broker_rtt


def _cpus() -> dict:
    """What this worker may use: CPUs by affinity and its cgroup's CPU quota (None: none)."""
    quota = cgroup.read_quota(cgroup.read_file)
    return {
        "affinity": cgroup.affinity_cpus(),
        "quota": quota.cpus if quota else None,
        "quota_source": quota.source if quota else None,
    }


CPUS = _cpus()


def _step(consumer, label: str):
    """The consumer's bootstep of that class name, as built for this worker; None if absent."""
    blueprint = getattr(consumer, "blueprint", None)
    return next((s for s in getattr(blueprint, "order", ()) if type(s).__name__ == label), None)


def _step_enabled(consumer, label: str) -> bool | None:
    step = _step(consumer, label)
    return None if step is None else bool(getattr(step, "enabled", True))


def describe(consumer) -> dict:
    task = consumer.app.tasks.get(protocol.TASK_NAME)
    controller = consumer.controller
    pool = getattr(controller, "pool_cls", None)
    pool_name = getattr(pool, "__module__", "").rsplit(".", 1)[-1] if pool else None
    qos = getattr(consumer, "qos", None)
    events = _step(consumer, "Events")
    return {
        "pool": {"thread": "threads", "prefork": "prefork", "solo": "solo", "gevent": "gevent"}.get(
            pool_name, pool_name
        ),
        "concurrency": getattr(controller, "concurrency", None),
        "prefetch_multiplier": consumer.prefetch_multiplier,
        "prefetch_count": qos.value if qos is not None else None,
        "acks_late": getattr(task, "acks_late", None),
        "reject_on_worker_lost": getattr(task, "reject_on_worker_lost", None)
        if getattr(task, "reject_on_worker_lost", None) is not None
        else consumer.app.conf.task_reject_on_worker_lost,
        "task_events": events.groups is None if events is not None else None,
        "mingle": _step_enabled(consumer, "Mingle"),
        "gossip": _step_enabled(consumer, "Gossip"),
        "heartbeat": _step_enabled(consumer, "Heart"),
        "queues": sorted(q.name for q in consumer.task_consumer.queues) if consumer.task_consumer else [],
        "serializer": consumer.app.conf.task_serializer,
        "interpreter": workloads.interpreter(),  # now: an import may have turned the GIL back on
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "cpus": CPUS,
        "broker_rtt": broker_rtt(consumer.app.conf.broker_url),  # this worker's link, measured now
    }


@inspect_command(name=protocol.INFO_COMMAND)
def poolbench_info(state, **kwargs):
    """The settings this worker really runs with (see the module's docstring)."""
    return describe(state.consumer)
