"""Which workers on a queue are alive, from the heartbeats they leave in Redis (``worker.lease``).

A worker beats every LEASE_RENEW_S: ``{"at": its clock, "pid", "held": [task ids]}``.
A beat is judged by whether it *changes*, on the producer's own clock, so clocks of
other hosts need not agree: a worker whose beat has not moved for VISIBILITY_TIMEOUT_S
is gone (killed, or cut off), and by then kombu gives its messages to another worker.
An entry already older than STALE_S when first seen is a leftover of a worker killed
long ago, not news: it is ignored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from worker import protocol

STALE_S = 60.0


@dataclass
class Beat:
    at: float
    """The worker's own clock in its last beat."""
    changed: float
    """The producer's clock when that beat was first seen."""
    held: list[str] = field(default_factory=list)
    vanished: bool = False


def parse(entries: dict) -> dict[str, dict]:
    """``HGETALL`` of a heartbeat hash as ``{node: entry}``; unreadable entries are left out."""
    found = {}
    for node, raw in entries.items():
        node = node.decode() if isinstance(node, bytes) else node
        try:
            entry = json.loads(raw)
            found[node] = {"at": float(entry["at"]), "held": list(entry.get("held") or [])}
        except (ValueError, TypeError, KeyError):
            continue
    return found


class Liveness:
    def __init__(self, timeout: float = protocol.VISIBILITY_TIMEOUT_S):
        self.timeout = timeout
        self.beats: dict[str, Beat] = {}

    def update(self, entries: dict[str, dict], now: float, wall_now: float) -> tuple[list[str], list[str]]:
        """Take a fresh read of the heartbeats; return ``(newly vanished, back again)`` nodes.

        ``now`` is the producer's monotonic clock, ``wall_now`` its wall clock (only used
        to skip leftovers of long-dead workers).
        """
        back = []
        for node, entry in entries.items():
            beat = self.beats.get(node)
            if beat is None:
                if wall_now - entry["at"] > STALE_S:
                    continue
                self.beats[node] = Beat(entry["at"], now, entry["held"])
            elif entry["at"] != beat.at:
                if beat.vanished:
                    back.append(node)
                beat.at, beat.changed, beat.held, beat.vanished = entry["at"], now, entry["held"], False
        vanished = []
        for node, beat in self.beats.items():
            if not beat.vanished and now - beat.changed > self.timeout:
                beat.vanished = True
                vanished.append(node)
        return vanished, back

    def forgive(self, now: float) -> None:
        """After Redis was away nobody could beat: give every worker a fresh timeout."""
        for beat in self.beats.values():
            beat.changed = now

    def drop_holdings(self) -> None:
        """Forget what each worker held, until it says again (Redis restarted in between)."""
        for beat in self.beats.values():
            beat.held = []

    @property
    def known(self) -> bool:
        """Whether any worker on the queue beats at all (workers of older versions do not)."""
        return bool(self.beats)

    def alive(self) -> list[str]:
        return sorted(node for node, beat in self.beats.items() if not beat.vanished)

    def silent_for(self, node: str, now: float) -> float:
        return now - self.beats[node].changed

    def holder(self, task_id: str) -> str | None:
        """The node whose last beat held this task, if any."""
        for node, beat in self.beats.items():
            if task_id in beat.held:
                return node
        return None
