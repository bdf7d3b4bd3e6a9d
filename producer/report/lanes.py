"""Swim lanes: which thread, process or broker's worker ran each task of one round, and when.

Pure logic over the document, so the picture's layout can be tested without drawing it.
One measured round per backend is shown: the one whose wall time is closest to the
median, so the picture is a typical round, not the best or the worst. Times are seconds
since the round's first event (a brokered task's ``sent``, else the first ``started``).

A version 4 document keeps that round in ``timeline``: its tasks (one bar each), or,
above a few hundred tasks per lane, each lane's occupancy in time bins
(:mod:`producer.measure.picture`); older documents keep every round's tasks.
"""

from __future__ import annotations

from dataclasses import dataclass

from producer.measure.picture import lane_key, timed
from producer.report.declared import through_broker, via_of
from producer.report.document import Document, Result, Round, TaskRecord


@dataclass(frozen=True)
class Bar:
    """One task: from ``start`` to ``end`` on its lane, ``cpu_share`` of it on a CPU."""

    index: int
    start: float
    end: float
    cpu_share: float
    """The task's own CPU time / its wall time, clamped to 0..1."""
    sent: float | None
    """Through a broker: when the producer published it; ``sent`` to ``start`` is its queue wait."""
    failed: bool


@dataclass(frozen=True)
class Lane:
    label: str
    bars: tuple[Bar, ...]
    busy: tuple[float, ...] = ()
    """Binned: the share of each time bin the lane was running a task (``Timeline.bin_s``)."""
    cpu: tuple[float, ...] = ()
    """Binned: the share of each bin it was on a CPU."""
    tasks: int = 0
    """Binned: how many tasks ran on it."""
    failed: int = 0


@dataclass(frozen=True)
class Timeline:
    backend: str
    family: str
    via: str
    """``broker``: its tasks were sent through one and queued there (``Bar.sent``)."""
    round: int
    """The round's number among the measured rounds, from 1."""
    rounds: int
    wall_s: float
    lanes: tuple[Lane, ...]
    bin_s: float | None = None
    """Binned (occupancy, not a bar per task): the width of a time bin."""
    end_s: float = 0.0
    queued: tuple[float, ...] = ()
    """Binned, through a broker: tasks waiting at the broker, on average over each bin."""

    @property
    def binned(self) -> bool:
        return self.bin_s is not None

    @property
    def tasks(self) -> int:
        return sum(lane.tasks if self.binned else len(lane.bars) for lane in self.lanes)

    @property
    def most_per_lane(self) -> int:
        return max((lane.tasks if self.binned else len(lane.bars) for lane in self.lanes), default=0)

    @property
    def end(self) -> float:
        if self.binned:
            return self.end_s
        return max((b.end for lane in self.lanes for b in lane.bars), default=0.0)

    @property
    def cpu_share(self) -> float:
        """CPU time over wall time of all the round's tasks together."""
        if self.binned:
            busy = sum(sum(lane.busy) for lane in self.lanes)
            return sum(sum(lane.cpu) for lane in self.lanes) / busy if busy > 0 else 0.0
        wall = sum(b.end - b.start for lane in self.lanes for b in lane.bars)
        cpu = sum((b.end - b.start) * b.cpu_share for lane in self.lanes for b in lane.bars)
        return cpu / wall if wall > 0 else 0.0


def measured_rounds(result: Result) -> list[Round]:
    return [r for r in result.get("rounds") or [] if not r.get("warmup")]


def typical_round(result: Result) -> tuple[int, Round] | None:
    """(position from 1, round) of the measured round closest to the median wall time."""
    rounds = measured_rounds(result)
    if not rounds:
        return None
    walls = sorted(r["wall_s"] for r in rounds)
    median = walls[(len(walls) - 1) // 2]
    best = min(range(len(rounds)), key=lambda i: (abs(rounds[i]["wall_s"] - median), i))
    return best + 1, rounds[best]


def lane_labels(keys: list[tuple], by_node: bool) -> list[str]:
    """A short name for each (node, pid, tid): the node only for workers reached through a broker
    (``by_node``), the thread only where a pid has several."""
    pids = {pid for _, pid, _ in keys}
    tids_of: dict[tuple, list] = {}
    for node, pid, tid in keys:
        tids_of.setdefault((node, pid), []).append(tid)
    labels = []
    for node, pid, tid in keys:
        parts = [node] if by_node else []
        siblings = tids_of[(node, pid)]
        if by_node or len(pids) > 1 or len(siblings) == 1:
            parts.append(f"pid {pid}")
        if isinstance(tid, tuple):
            parts.append(f"interpreter {tid[1]}")
        elif len(siblings) > 1:
            parts.append(f"thread {siblings.index(tid) + 1}")
        labels.append(" ".join(parts) if not by_node else "\n".join([parts[0], " ".join(parts[1:])]))
    return labels


def timeline(result: Result) -> Timeline | None:
    """The lanes of the result's typical round, ordered by each lane's first task; None without one."""
    if "timeline" in result:  # version 4: the typical round, kept as it was measured
        kept = result["timeline"]
        if not kept:
            return None
        position, rnd = kept["round"], {"wall_s": kept["wall_s"], "tasks": kept.get("tasks") or []}
        if kept["kind"] == "occupancy":
            return _binned(result, kept)
    else:
        picked = typical_round(result)
        if picked is None:
            return None
        position, rnd = picked
    tasks = [t for t in rnd.get("tasks") or [] if timed(t)]
    if not tasks:
        return None
    origin = min(min(t["started"], t.get("sent", t["started"])) for t in tasks)
    by_lane: dict[tuple, list[TaskRecord]] = {}
    for task in sorted(tasks, key=lambda t: (t["started"], t.get("index", 0))):
        by_lane.setdefault(lane_key(task), []).append(task)
    keys = list(by_lane)
    labels = lane_labels(keys, by_node=through_broker(result))
    lanes = tuple(
        Lane(label, tuple(_bar(t, origin) for t in by_lane[key]))
        for key, label in zip(keys, labels, strict=True)
    )
    return Timeline(
        backend=result["backend"],
        family=result.get("family", "local"),
        via=via_of(result),
        round=position,
        rounds=len(measured_rounds(result)),
        wall_s=rnd["wall_s"],
        lanes=lanes,
    )


def _binned(result: Result, kept: dict) -> Timeline:
    """A version 4 round kept as occupancy: each lane's busy and CPU shares per time bin."""
    keys = [
        (node, pid, tuple(lane) if isinstance(lane, list) else lane)
        for node, pid, lane in (entry["key"] for entry in kept["lanes"])
    ]
    labels = lane_labels(keys, by_node=through_broker(result))
    lanes = tuple(
        Lane(label, (), tuple(entry["busy"]), tuple(entry["cpu"]), entry["tasks"], entry.get("failed", 0))
        for entry, label in zip(kept["lanes"], labels, strict=True)
    )
    return Timeline(
        backend=result["backend"],
        family=result.get("family", "local"),
        via=via_of(result),
        round=kept["round"],
        rounds=kept["rounds"],
        wall_s=kept["wall_s"],
        lanes=lanes,
        bin_s=kept["bin_s"],
        end_s=kept["end_s"],
        queued=tuple(kept.get("queued") or ()),
    )


def _bar(task: TaskRecord, origin: float) -> Bar:
    start, end = task["started"] - origin, task["ended"] - origin
    wall = end - start
    share = (task.get("cpu_s") or 0.0) / wall if wall > 0 else 0.0
    sent = task.get("sent")
    return Bar(
        index=task.get("index", -1),
        start=start,
        end=end,
        cpu_share=min(1.0, max(0.0, share)),
        sent=None if sent is None else min(sent - origin, start),  # another host's clock may run ahead
        failed="error" in task,
    )


def timelines(doc: Document) -> list[Timeline]:
    """One timeline per backend that has a timed measured round, in the document's order."""
    return [t for t in map(timeline, doc["results"]) if t is not None]
