"""Which workers on a queue are alive, from the heartbeats they leave in Redis (``worker.lease``).

A worker beats every LEASE_RENEW_S: ``{"at": its clock, "pid", "held": [task ids]}``.
A beat is judged by whether it *changes*, on the producer's own clock, so clocks of
other hosts need not agree: a worker whose beat has not moved for VISIBILITY_TIMEOUT_S
is gone (killed, or cut off), and by then kombu gives its messages to another worker.
An entry already older than STALE_S when first seen is a leftover of a worker killed
long ago, not news: it is ignored.

A beat also counts the worker's outages, the runs of its beats that could not reach Redis
(``worker.lease``). One that ends while the producer watches is news (:meth:`Liveness.outages`):
a fault on that worker's own link to Redis, which the producer's PINGs do not cross.
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
    outages: int = 0
    """Its count of outages in its last beat."""


def parse(entries: dict) -> dict[str, dict]:
    """``HGETALL`` of a heartbeat hash as ``{node: entry}``; unreadable entries are left out."""
    found = {}
    for node, raw in entries.items():
        node = node.decode() if isinstance(node, bytes) else node
        try:
            entry = json.loads(raw)
            found[node] = {"at": float(entry["at"]), "held": list(entry.get("held") or [])}
            if entry.get("outages"):  # only once its beats have failed
                found[node].update(
                    outages=int(entry["outages"]),
                    outage_s=float(entry.get("outage_s") or 0.0),
                    failed=int(entry.get("failed") or 0),
                )
        except (ValueError, TypeError, KeyError):
            continue
    return found


@dataclass
class Outage:
    """A worker's beats could not reach Redis for a while, then did again."""

    node: str
    count: int
    """How many outages ended since the producer last read its beat (usually 1)."""
    seconds: float
    """The last one: the gap between the successful beats around it, on the worker's clock."""
    failed: int
    """Beats that failed in it (none: they got through, but none for ``seconds``)."""
    ended: float = 0.0
    """The latest it can have ended, on the producer's monotonic clock."""

    def sentence(self, producer_held: bool = False) -> str:
        last = f"; the last of {self.count} outages" if self.count > 1 else ""
        if not self.failed:
            return (
                f"worker {self.node}'s heartbeat did not get through to Redis for {self.seconds:.1f} s "
                f"(none failed: a slow link, or a task that held its GIL{last})"
            )
        held = "; the producer's PINGs held: the fault was on the worker's path" if producer_held else ""
        return (
            f"worker {self.node} could not reach Redis for {self.seconds:.1f} s "
            f"({self.failed} heartbeat(s) failed{last}){held}"
        )


def told(
    outages: list[Outage], batch_began: float, lost_until: float, producer_held: bool
) -> list[tuple[str, bool]]:
    """``(sentence, whether it touched the batch)`` for each outage, on the producer's clock.

    One that began before a lost Redis was back is that loss, which the recovery told. One
    over before the batch began is the run's, said as between batches, not the batch's.
    """
    found = []
    for outage in outages:
        if outage.ended - outage.seconds <= lost_until:
            continue
        if outage.ended >= batch_began:
            found.append((outage.sentence(producer_held), True))
        else:
            found.append((outage.sentence() + ", between batches", False))
    return found


class Liveness:
    def __init__(self, timeout: float = protocol.VISIBILITY_TIMEOUT_S):
        self.timeout = timeout
        self.beats: dict[str, Beat] = {}
        self._outages: list[Outage] = []

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
                self.beats[node] = Beat(entry["at"], now, entry["held"], outages=entry.get("outages", 0))
            elif entry["at"] != beat.at:
                if beat.vanished:
                    back.append(node)
                self._note_outage(node, beat, entry)
                beat.at, beat.changed, beat.held, beat.vanished = entry["at"], now, entry["held"], False
        vanished = []
        for node, beat in self.beats.items():
            if not beat.vanished and now - beat.changed > self.timeout:
                beat.vanished = True
                vanished.append(node)
        return vanished, back

    def read_outages(self, entries: dict[str, dict]) -> None:
        """Only the outages of a fresh read: after a batch, one that ended as the batch did.
        Whether a worker vanished is left to :meth:`update`, which the batch reads."""
        for node, entry in entries.items():
            beat = self.beats.get(node)
            if beat is not None and entry["at"] != beat.at:
                self._note_outage(node, beat, entry)

    def _note_outage(self, node: str, beat: Beat, entry: dict) -> None:
        outages = entry.get("outages", 0)
        if outages > beat.outages:
            # it ended by the time of this beat: on the producer's clock, at the latest when the
            # last beat was seen plus the worker's own time between the two beats
            ended = beat.changed + (entry["at"] - beat.at)
            count = outages - beat.outages
            self._outages.append(Outage(node, count, entry["outage_s"], entry["failed"], ended))
        beat.outages = outages

    def outages(self) -> list[Outage]:
        """The outages that ended since the last call (each worker's own account)."""
        found, self._outages = self._outages, []
        return found

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
