"""What a round keeps of its tasks for the timeline and the sample, bounded whatever their number.

Up to :data:`BOXES_PER_LANE` tasks on its busiest lane (a thread, process or worker slot)
and :data:`BOXES` in all, a round keeps its tasks' timing fields and the timeline draws
one box per task. Above that, boxes would be thinner than a pixel: the round keeps, per lane, its *occupancy*
in :data:`BINS` equal time bins (the share of each bin the slot was running a task, and
the share it was on a CPU), and the chart says it is binned. The sample is every k-th
task by index, at most :data:`SAMPLE_SIZE`, all fields but the verified summary.
"""

from __future__ import annotations

from producer.measure.records import Records, as_records

BOXES_PER_LANE = 200
"""More tasks than this on one lane are drawn as occupancy, not boxes."""
BOXES = 300
"""More tasks than this in a round are drawn as occupancy: each box costs the picture."""
BINS = 240
SAMPLE_SIZE = 50
WHOLE = SAMPLE_SIZE
"""A round of at most this many tasks keeps every record (``rounds[].tasks``)."""
SAMPLE_RULE = "every k-th task by index of the typical round, k = ceil(tasks / 50)"
TIMING = ("index", "started", "ended", "cpu_s", "sent", "pid", "tid", "worker", "host", "interpreter")


def timed(task: dict) -> bool:
    return isinstance(task.get("started"), (int, float)) and isinstance(task.get("ended"), (int, float))


def lane_key(task: dict) -> tuple:
    """(node, pid, thread); a subinterpreter's id stands in for the thread where a task names one."""
    lane = ("interpreter", task["interpreter"]) if task.get("interpreter") is not None else task.get("tid")
    return (task.get("worker") or task.get("host") or "", task.get("pid"), lane)


def _boxes(tasks: list[dict]) -> dict:
    kept = []
    for t in tasks:
        box = {k: t[k] for k in TIMING if k in t}
        if "error" in t:
            box["error"] = {k: t["error"].get(k) for k in ("type", "message")}
        kept.append(box)
    return {"kind": "tasks", "tasks": kept}


def picture(records: Records | list[dict]) -> dict | None:
    """The round's timeline: its tasks (``kind: tasks``) or its lanes' occupancy (``kind: occupancy``).

    Read field by field: a round of 100,000 tasks is binned without a dict per task.
    """
    records = as_records(records)
    field = records.get
    by_lane: dict[tuple, list[int]] = {}
    first: dict[tuple, tuple] = {}
    count = 0
    for p in range(len(records)):
        started = field(p, "started")
        if isinstance(started, (int, float)) and isinstance(field(p, "ended"), (int, float)):
            lane = _lane(records, p)
            by_lane.setdefault(lane, []).append(p)
            first[lane] = min(first.get(lane, (started, p)), (started, p))
            count += 1
    if not count:
        return None
    by_lane = {lane: by_lane[lane] for lane in sorted(by_lane, key=first.__getitem__)}  # lanes by first start
    most = max(len(v) for v in by_lane.values())
    if most <= BOXES_PER_LANE and count <= BOXES:
        tasks = sorted((records[p] for on_lane in by_lane.values() for p in on_lane),
                       key=lambda t: (t["started"], t.get("index", 0)))  # fmt: skip
        return _boxes(tasks)
    positions = [p for on_lane in by_lane.values() for p in on_lane]
    origin = min(min(field(p, "started"), field(p, "sent", field(p, "started"))) for p in positions)
    end = max(field(p, "ended") for p in positions) - origin
    bin_s = end / BINS if end > 0 else 1e-9
    lanes = [_occupancy(records, key, on_lane, origin, bin_s) for key, on_lane in by_lane.items()]
    out = {
        "kind": "occupancy",
        "tasks": count,
        "bins": BINS,
        "bin_s": bin_s,
        "end_s": end,
        "most_per_lane": most,
        "lanes": lanes,
    }
    if records.has("sent"):  # tasks waiting at the broker, on average over each bin
        queued = [0.0] * BINS
        for p in positions:
            sent = field(p, "sent")
            if isinstance(sent, (int, float)):
                _add(queued, sent - origin, field(p, "started") - origin, 1.0, bin_s)
        out["queued"] = _round(queued)
    return out


def _lane(records: Records, p: int) -> tuple:
    return lane_key({k: records.get(p, k) for k in ("worker", "host", "pid", "tid", "interpreter")})


def _occupancy(records: Records, key: tuple, positions: list[int], origin: float, bin_s: float) -> dict:
    busy, cpu = [0.0] * BINS, [0.0] * BINS
    failed = 0
    for p in positions:
        start, end = records.get(p, "started") - origin, records.get(p, "ended") - origin
        share = (records.get(p, "cpu_s") or 0.0) / (end - start) if end > start else 0.0
        _add(busy, start, end, 1.0, bin_s)
        _add(cpu, start, end, min(1.0, max(0.0, share)), bin_s)
        failed += records.get(p, "error") is not None
    node, pid, lane = key
    return {
        "key": [node, pid, list(lane) if isinstance(lane, tuple) else lane],
        "tasks": len(positions),
        "failed": failed,
        "busy": _round(busy),
        "cpu": _round(cpu),
    }


def _add(out: list[float], start: float, end: float, weight: float, bin_s: float) -> None:
    """Add a span's overlap with each bin, times its weight, as a share of the bin."""
    start, end = max(0.0, start), max(0.0, end)
    first, last = min(BINS - 1, int(start / bin_s)), min(BINS - 1, int(end / bin_s))
    for b in range(first, last + 1):
        overlap = min(end, (b + 1) * bin_s) - max(start, b * bin_s)
        if overlap > 0:
            out[b] += overlap * weight / bin_s


def _round(values: list[float]) -> list[float]:
    return [round(v, 3) for v in values]


def sample(records: Records | list[dict]) -> list[dict]:
    """Every k-th task by index (``SAMPLE_RULE``), without its summary."""
    records = as_records(records)

    def index(p: int) -> int:
        found = records.get(p, "index")
        return found if isinstance(found, int) else -1

    ordered = sorted(range(len(records)), key=index)
    step = max(1, -(-len(ordered) // SAMPLE_SIZE))
    return [{k: v for k, v in records[p].items() if k != "summary"} for p in ordered[::step]]


def typical(walls: list[float]) -> int | None:
    """The index of the round whose wall time is closest to the median (the lower median of an
    even count; the first on a tie): a typical round, not the best or the worst."""
    if not walls:
        return None
    median = sorted(walls)[(len(walls) - 1) // 2]
    return min(range(len(walls)), key=lambda i: (abs(walls[i] - median), i))
