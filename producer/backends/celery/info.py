"""What a Celery backend reports of its workers and its broker (``describe()["settings"]``).

The workers' real settings, read back from them through ``poolbench_info`` (one value where
they agree, ``mixed`` where not, None where a worker could not say), the message's measured
cost on a slot, the producer's round trip to Redis (:mod:`.rtt`), and the fault-handling
numbers every worker and the producer agree on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from producer.backends.celery.recovery import BROKER_WAIT_S
from producer.services.redis import mask_url
from worker import protocol

if TYPE_CHECKING:
    from producer.backends.celery import CeleryBackend

REPORTED = (
    "prefetch_multiplier",
    "prefetch_count",
    "acks_late",
    "reject_on_worker_lost",
    "task_events",
    "mingle",
    "gossip",
    "heartbeat",
    "interpreter",
)
"""What a worker reports of itself, summarised per backend (None: it could not say)."""


def settings_info(backend: CeleryBackend, node_info: dict[str, dict]) -> dict:
    """The workers' real settings, read back from them: one value where they agree."""
    nodes = backend.nodes
    infos = [node_info.get(node, {}) for node in nodes]
    agreed = {}
    for key in REPORTED:
        values = {repr(info.get(key)) for info in infos}
        agreed[key] = infos[0].get(key) if len(values) == 1 and infos else ("mixed" if infos else None)
    return {
        "queue": backend.queue,
        "broker": mask_url(backend.url),
        "workers": len(nodes),
        "nodes": {node: node_info.get(node, {}) for node in nodes},
        "result_backend": "redis",
        "message_cost": getattr(backend, "message_cost", None),
        "broker_rtt": backend.rtt.describe() if backend.rtt else None,
        **agreed,
        "faults": {
            "visibility_timeout_s": protocol.VISIBILITY_TIMEOUT_S,
            "lease_renew_s": protocol.LEASE_RENEW_S,
            "max_deliveries": protocol.MAX_DELIVERIES,
            "broker_wait_s": BROKER_WAIT_S,
            "incidents": list(backend.incidents),
            "incident_count": backend.incident_count,
        },
    }
