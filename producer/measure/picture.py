"""What a round keeps of its tasks for the timeline and the sample, bounded whatever their number,
built as the tasks arrive.

Up to :data:`BOXES_PER_LANE` tasks on its busiest lane (a thread, process or worker slot)
and :data:`BOXES` in all, a round keeps its tasks' timing fields and the timeline draws
one box per task. Above that, boxes would be thinner than a pixel: the round keeps, per lane,
its *occupancy* in time bins (the share of each bin the slot was running a task, and the share
it was on a CPU), and the chart says it is binned. The bins are laid out when the boxes run
out, over the time they span, and widened (whole bins merged) whenever a task falls outside
them, so the round's end need not be known in advance: a round keeps between about
``BINS / 2`` and :data:`BINS` of them. The sample is every k-th task by index, at most
:data:`SAMPLE_SIZE`, all fields but the verified summary.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

BOXES_PER_LANE = 200
"""More tasks than this on one lane are drawn as occupancy, not boxes."""
BOXES = 300
"""More tasks than this in a round are drawn as occupancy: each box costs the picture."""
BINS = 240
"""The most bins a binned round keeps (even: two merge into one)."""
SAMPLE_SIZE = 50
WHOLE = SAMPLE_SIZE
"""A round of at most this many tasks keeps every record (``rounds[].tasks``)."""
SAMPLE_RULE = "every k-th task by index of the typical round, k = ceil(tasks / 50)"
TIMING = ("index", "started", "ended", "cpu_s", "sent", "pid", "tid", "worker", "host", "interpreter")
NARROWEST_S = 1e-9
"""The first bins' width when every task so far took no time at all."""


def timed(task: dict) -> bool:
    return isinstance(task.get("started"), (int, float)) and isinstance(task.get("ended"), (int, float))


def lane_key(task: dict) -> tuple:
    """(node, pid, thread); a subinterpreter's id stands in for the thread where a task names one."""
    lane = ("interpreter", task["interpreter"]) if task.get("interpreter") is not None else task.get("tid")
    return (task.get("worker") or task.get("host") or "", task.get("pid"), lane)


def _box(task: dict) -> dict:
    box = {k: task[k] for k in TIMING if k in task}
    if task.get("error") is not None:
        box["error"] = {k: task["error"].get(k) for k in ("type", "message")}
    return box


class _Series:
    """One curve over the bins: what a span adds to its first and last bin, and, for the bins
    it covers whole, a difference array (a span of a hundred bins costs two additions)."""

    def __init__(self) -> None:
        self.part = [0.0] * BINS
        self.diff = [0.0] * (BINS + 1)

    def add(self, a: float, b: float, weight: float) -> None:
        """Add ``weight`` over bins ``a`` to ``b`` (in bins from the origin, fractions included)."""
        first, last = min(BINS - 1, int(a)), min(BINS - 1, int(b))
        if first >= last:
            self.part[first] += (b - a) * weight
            return
        self.part[first] += (first + 1 - a) * weight
        self.part[last] += (b - last) * weight
        if last > first + 1:
            self.diff[first + 1] += weight
            self.diff[last] -= weight

    def values(self) -> list[float]:
        out, running = [], 0.0
        for part, step in zip(self.part, self.diff, strict=False):
            running += step
            out.append(part + running)
        return out

    def regrid(self, shift: int, factor: int) -> None:
        """Merge each ``factor`` bins into one, the first of them now bin ``shift``."""
        out = [0.0] * BINS
        for i, value in enumerate(self.values()):
            if value:
                out[min(BINS - 1, shift + i // factor)] += value / factor
        self.part = out
        self.diff = [0.0] * (BINS + 1)


class _Grid:
    """:data:`BINS` bins of one width from an origin, and every curve drawn on them."""

    def __init__(self, origin: float, width: float) -> None:
        self.origin, self.width = origin, width
        self.series: list[_Series] = []

    def curve(self) -> _Series:
        series = _Series()
        self.series.append(series)
        return series

    def cover(self, lo: float, hi: float) -> None:
        """Widen the bins, by the fewest doublings, until ``lo`` to ``hi`` lies within them: a
        bin of the new width is a whole number of old ones, so nothing drawn moves. The time
        drawn spans more than half the bins after (else one doubling fewer would have done)."""
        if self.origin <= lo and hi <= self.origin + BINS * self.width:
            return
        factor = 2
        while True:
            width = self.width * factor
            shift = max(0, math.ceil((self.origin - lo) / width))
            if self.origin - shift * width + BINS * width >= hi:
                break
            factor *= 2
        for series in self.series:
            series.regrid(shift, factor)
        self.origin -= shift * width
        self.width = width

    def add(self, series: _Series, start: float, end: float, weight: float) -> None:
        a = max(0.0, (start - self.origin) / self.width)
        series.add(a, max(a, (end - self.origin) / self.width), weight)


class _Lane:
    def __init__(self, first: tuple) -> None:
        self.first = first
        """(started, arrival) of its earliest task: lanes are listed by their first start."""
        self.tasks = self.failed = 0
        self.busy: _Series | None = None
        self.cpu: _Series | None = None


class Timeline:
    """A round's timeline, fed its tasks one at a time in any order: :meth:`picture` gives its
    tasks (``kind: tasks``) or its lanes' occupancy (``kind: occupancy``)."""

    def __init__(self) -> None:
        self._boxes: list[dict] | None = []
        self._lanes: dict[tuple, _Lane] = {}
        self._count = 0
        self._lo, self._hi = math.inf, -math.inf
        self._grid: _Grid | None = None
        self._queued: _Series | None = None
        self._sent = False

    def add(self, task: dict) -> None:
        if not timed(task):
            return
        started, sent = task["started"], task.get("sent")
        lane = self._lanes.get(key := lane_key(task))
        if lane is None:
            lane = self._lanes[key] = _Lane((started, self._count))
        elif started < lane.first[0]:
            lane.first = (started, self._count)
        lane.tasks += 1
        self._count += 1
        if isinstance(sent, (int, float)):
            self._sent = True
            if sent < self._lo:
                self._lo = sent
        if started < self._lo:
            self._lo = started
        if task["ended"] > self._hi:
            self._hi = task["ended"]
        if self._boxes is None:
            self._bin(lane, task)
            return
        self._boxes.append(_box(task))
        if lane.tasks > BOXES_PER_LANE or self._count > BOXES:
            self._to_bins()

    def _to_bins(self) -> None:
        boxes, self._boxes = self._boxes, None
        self._grid = _Grid(self._lo, max(NARROWEST_S, (self._hi - self._lo) / BINS * (1 + 1e-9)))
        for box in boxes:
            self._bin(self._lanes[lane_key(box)], box)

    def _bin(self, lane: _Lane, task: dict) -> None:
        grid = self._grid
        start, end, sent = task["started"], task["ended"], task.get("sent")
        queued = isinstance(sent, (int, float))
        grid.cover(self._lo, self._hi)
        if lane.busy is None:
            lane.busy, lane.cpu = grid.curve(), grid.curve()
        share = (task.get("cpu_s") or 0.0) / (end - start) if end > start else 0.0
        a = max(0.0, (start - grid.origin) / grid.width)  # grid.add's, once for both curves
        b = max(a, (end - grid.origin) / grid.width)
        lane.busy.add(a, b, 1.0)
        lane.cpu.add(a, b, min(1.0, max(0.0, share)))
        lane.failed += task.get("error") is not None
        if queued:  # tasks waiting at the broker, on average over each bin
            if self._queued is None:
                self._queued = grid.curve()
            grid.add(self._queued, sent, start, 1.0)

    def picture(self) -> dict | None:
        if not self._count:
            return None
        if self._boxes is not None:
            return {
                "kind": "tasks",
                "tasks": sorted(self._boxes, key=lambda t: (t["started"], t.get("index", 0))),
            }
        grid = self._grid
        first = max(0, int((self._lo - grid.origin) / grid.width))
        last = min(BINS - 1, max(first, math.ceil((self._hi - grid.origin) / grid.width) - 1))
        origin = grid.origin + first * grid.width

        def kept(series: _Series) -> list[float]:
            return [round(v, 3) for v in series.values()[first : last + 1]]

        lanes = []
        for (node, pid, lane), found in sorted(self._lanes.items(), key=lambda item: item[1].first):
            lanes.append(
                {
                    "key": [node, pid, list(lane) if isinstance(lane, tuple) else lane],
                    "tasks": found.tasks,
                    "failed": found.failed,
                    "busy": kept(found.busy),
                    "cpu": kept(found.cpu),
                }
            )
        out = {
            "kind": "occupancy",
            "tasks": self._count,
            "bins": last - first + 1,
            "bin_s": grid.width,
            "end_s": self._hi - origin,
            "most_per_lane": max(lane.tasks for lane in self._lanes.values()),
            "lanes": lanes,
        }
        if self._sent:
            out["queued"] = kept(self._queued) if self._queued is not None else [0.0] * (last - first + 1)
        return out


def picture(tasks: Iterable[dict]) -> dict | None:
    """The timeline of a round's tasks (:class:`Timeline`)."""
    timeline = Timeline()
    for task in tasks:
        timeline.add(task)
    return timeline.picture()


class Sample:
    """Every k-th task by index (``SAMPLE_RULE``) of a batch of ``tasks``, without its summary."""

    def __init__(self, tasks: int) -> None:
        self.step = max(1, -(-tasks // SAMPLE_SIZE))
        self._kept: dict[int, dict] = {}

    def add(self, task: dict) -> None:
        index = task.get("index")
        if not isinstance(index, int) or isinstance(index, bool) or index < 0:
            return
        if index % self.step == 0 and index not in self._kept:
            self._kept[index] = {k: v for k, v in task.items() if k != "summary"}

    def rows(self) -> list[dict]:
        return [self._kept[index] for index in sorted(self._kept)]


def sample(tasks: Iterable[dict]) -> list[dict]:
    """:class:`Sample` of a whole batch's tasks."""
    tasks = list(tasks)
    kept = Sample(len(tasks))
    for task in tasks:
        kept.add(task)
    return kept.rows()


def typical(walls: list[float]) -> int | None:
    """The index of the round whose wall time is closest to the median (the lower median of an
    even count; the first on a tie): a typical round, not the best or the worst."""
    if not walls:
        return None
    median = sorted(walls)[(len(walls) - 1) // 2]
    return min(range(len(walls)), key=lambda i: (abs(walls[i] - median), i))
