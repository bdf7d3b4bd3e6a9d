"""What a round keeps of its tasks for the timeline and the sample, bounded whatever their number.

Up to :data:`BOXES_PER_LANE` tasks on its busiest lane (a thread, process or worker slot)
and :data:`BOXES` in all, a round keeps its tasks' timing fields and the timeline draws
one box per task. Above that, boxes would be thinner than a pixel: the round keeps, per lane, its *occupancy*
in :data:`BINS` equal time bins (the share of each bin the slot was running a task, and
the share it was on a CPU), and the chart says it is binned. The sample is every k-th
task by index, at most :data:`SAMPLE_SIZE`, all fields but the verified summary.
"""

from __future__ import annotations

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


def picture(records: list[dict]) -> dict | None:
    """The round's timeline: its tasks (``kind: tasks``) or its lanes' occupancy (``kind: occupancy``)."""
    tasks = sorted((t for t in records if timed(t)), key=lambda t: (t["started"], t.get("index", 0)))
    if not tasks:
        return None
    by_lane: dict[tuple, list[dict]] = {}
    for t in tasks:
        by_lane.setdefault(lane_key(t), []).append(t)
    if max(len(v) for v in by_lane.values()) <= BOXES_PER_LANE and len(tasks) <= BOXES:
        return _boxes(tasks)
    origin = min(min(t["started"], t.get("sent", t["started"])) for t in tasks)
    end = max(t["ended"] for t in tasks) - origin
    bin_s = end / BINS if end > 0 else 1e-9
    lanes = [_occupancy(key, on_lane, origin, bin_s) for key, on_lane in by_lane.items()]
    out = {
        "kind": "occupancy",
        "tasks": len(tasks),
        "bins": BINS,
        "bin_s": bin_s,
        "end_s": end,
        "most_per_lane": max(len(v) for v in by_lane.values()),
        "lanes": lanes,
    }
    queued = [t for t in tasks if isinstance(t.get("sent"), (int, float))]
    if queued:  # tasks waiting at the broker, on average over each bin
        waits = [(t["sent"] - origin, t["started"] - origin, 1.0) for t in queued]
        out["queued"] = _round(_spread(waits, bin_s))
    return out


def _occupancy(key: tuple, tasks: list[dict], origin: float, bin_s: float) -> dict:
    spans, cpu_spans = [], []
    for t in tasks:
        start, end = t["started"] - origin, t["ended"] - origin
        share = (t.get("cpu_s") or 0.0) / (end - start) if end > start else 0.0
        spans.append((start, end, 1.0))
        cpu_spans.append((start, end, min(1.0, max(0.0, share))))
    node, pid, lane = key
    return {
        "key": [node, pid, list(lane) if isinstance(lane, tuple) else lane],
        "tasks": len(tasks),
        "failed": sum(1 for t in tasks if "error" in t),
        "busy": _round(_spread(spans, bin_s)),
        "cpu": _round(_spread(cpu_spans, bin_s)),
    }


def _spread(spans: list[tuple[float, float, float]], bin_s: float) -> list[float]:
    """Each bin's covered share: every span adds its overlap with the bin, times its weight."""
    out = [0.0] * BINS
    for start, end, weight in spans:
        start, end = max(0.0, start), max(0.0, end)
        first, last = min(BINS - 1, int(start / bin_s)), min(BINS - 1, int(end / bin_s))
        for b in range(first, last + 1):
            overlap = min(end, (b + 1) * bin_s) - max(start, b * bin_s)
            if overlap > 0:
                out[b] += overlap * weight / bin_s
    return out


def _round(values: list[float]) -> list[float]:
    return [round(v, 3) for v in values]


def sample(records: list[dict]) -> list[dict]:
    """Every k-th task by index (``SAMPLE_RULE``), without its summary."""
    ordered = sorted(records, key=lambda t: t["index"] if isinstance(t.get("index"), int) else -1)
    step = max(1, -(-len(ordered) // SAMPLE_SIZE))
    return [{k: v for k, v in t.items() if k != "summary"} for t in ordered[::step]]


def typical(walls: list[float]) -> int | None:
    """The index of the round whose wall time is closest to the median (the lower median of an
    even count; the first on a tie): a typical round, not the best or the worst."""
    if not walls:
        return None
    median = sorted(walls)[(len(walls) - 1) // 2]
    return min(range(len(walls)), key=lambda i: (abs(walls[i] - median), i))
