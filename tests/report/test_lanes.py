"""Swim lanes and the diff's arithmetic, from hand-made task records (pure logic, nothing timed)."""

from __future__ import annotations

import copy

import pytest

from producer.errors import UsageError
from producer.report import diff, lanes


def task(index, started, ended, cpu_s, pid=100, tid=1, **extra):
    return {"index": index, "host": "box", "pid": pid, "tid": tid, "started": started, "ended": ended,
            "cpu_s": cpu_s, **extra}  # fmt: skip


def result(backend, rounds, family="local"):
    return {"backend": backend, "family": family, "rounds": rounds}


def rnd(number, wall, tasks, warmup=False):
    return {"round": number, "warmup": warmup, "wall_s": wall, "cpu_s": 0.0, "tasks": tasks}


def test_threads_of_one_process_get_one_lane_each_in_order_of_first_task():
    tasks = [
        task(0, 10.0, 10.4, 0.2, tid=7),
        task(1, 10.1, 10.5, 0.2, tid=9),
        task(2, 10.4, 10.8, 0.2, tid=7),
    ]
    line = lanes.timeline(result("threads", [rnd(0, 0.8, tasks)]))
    assert [lane.label for lane in line.lanes] == ["thread 1", "thread 2"]
    assert [[b.index for b in lane.bars] for lane in line.lanes] == [[0, 2], [1]]
    first = line.lanes[0].bars[0]
    assert first.start == 0.0 and first.end == pytest.approx(0.4) and first.cpu_share == pytest.approx(0.5)
    assert line.cpu_share == pytest.approx(0.5)


def test_processes_get_a_lane_per_pid_and_the_baseline_one_lane():
    tasks = [task(i, 1.0 + i, 1.5 + i, 0.5, pid=200 + i % 2) for i in range(4)]
    assert [lane.label for lane in lanes.timeline(result("processes", [rnd(0, 4, tasks)])).lanes] == [
        "pid 200",
        "pid 201",
    ]
    seq = [task(i, 1.0 + i, 2.0 + i, 1.0) for i in range(3)]
    assert [lane.label for lane in lanes.timeline(result("sequential", [rnd(0, 3, seq)])).lanes] == [
        "pid 100"
    ]


def test_celery_lanes_name_the_node_and_pid_and_keep_the_queue_wait():
    tasks = [
        task(0, 5.0, 5.5, 0.5, pid=1, tid=1, sent=4.9, worker="threads-a@box"),
        task(1, 5.2, 5.6, 0.1, pid=1, tid=2, sent=4.9, worker="threads-a@box"),
        task(2, 5.1, 5.4, 0.3, pid=3, tid=1, sent=4.95, worker="threads-b@box"),
    ]
    line = lanes.timeline(result("celery-threads", [rnd(0, 0.8, tasks)], family="celery"))
    assert [lane.label for lane in line.lanes] == [
        "threads-a@box\npid 1 thread 1",
        "threads-b@box\npid 3",
        "threads-a@box\npid 1 thread 2",
    ]
    bar = line.lanes[2].bars[0]
    assert bar.sent == 0.0 and bar.start == pytest.approx(0.3)  # origin: the first task sent


def test_the_typical_round_is_the_measured_one_nearest_the_median():
    rounds = [rnd(0, 9.0, [task(9, 0, 1, 1)], warmup=True)] + [
        rnd(i + 1, wall, [task(i, 0, wall, wall)]) for i, wall in enumerate([3.0, 1.0, 2.0, 5.0])
    ]
    position, chosen = lanes.typical_round(result("x", rounds))
    assert (position, chosen["wall_s"]) == (3, 2.0)
    assert lanes.timeline(result("x", rounds)).rounds == 4


def test_untimed_tasks_and_odd_clocks_are_handled():
    tasks = [
        task(0, 1.0, 1.0, 0.0),  # zero wall time: no CPU share
        task(1, 1.0, 1.5, 0.9),  # more CPU than wall (clock granularity): clamped
        {"index": 2, "error": {"type": "TimeoutError", "message": "lost"}},
        task(3, 2.0, 2.5, 0.1, sent=2.2, error={"type": "ValueError", "message": "x"}),  # sent after start
    ]
    line = lanes.timeline(result("x", [rnd(0, 2.0, tasks)]))
    bars = {b.index: b for lane in line.lanes for b in lane.bars}
    assert set(bars) == {0, 1, 3}
    assert bars[0].cpu_share == 0.0 and bars[1].cpu_share == 1.0
    assert bars[3].failed and bars[3].sent == bars[3].start
    assert lanes.timeline(result("x", [])) is None
    assert lanes.timeline(result("x", [rnd(0, 1.0, [{"index": 0}])])) is None


def stats(values):
    from producer.measure.stats import describe

    return describe(values).as_dict()


def doc_with(walls: dict[str, list[float]], size=10):
    results = [{"backend": name, "wall_s": stats(w), "speedup": {"median": 1.0}} for name, w in walls.items()]
    return {
        "workload": {"name": "squares", "spec": "squares", "size": size, "tasks": 4},
        "settings": {"concurrency": 2, "repeat": 5},
        "machine": {"cpus_usable": 2, "python_version": "3.11.7"},
        "results": results,
    }


def test_diff_says_how_many_times_faster_and_marks_significance():
    a = doc_with({"threads": [1.0, 1.02, 0.98, 1.01, 0.99], "processes": [0.5, 0.52, 0.48, 0.51, 0.49]})
    b = copy.deepcopy(a)
    b["results"][0]["wall_s"] = stats([0.5, 0.51, 0.49, 0.505, 0.495])  # threads twice as fast
    b["results"][1]["wall_s"] = stats([1.0, 1.02, 0.98, 1.01, 0.99])  # processes twice as slow
    changes = {c.backend: c for c in diff.compare(a, b).changes}
    assert changes["threads"].significant and changes["threads"].wording().startswith("2.00x faster ±0.0")
    assert changes["processes"].significant and changes["processes"].wording().startswith("2.00x slower ±0.0")
    same = diff.compare(a, copy.deepcopy(a))
    assert not any(c.significant for c in same.changes)
    text = diff.render(diff.compare(a, b))
    assert "0.000 *" in text and "changed: threads 2.00x faster" in text


def test_diff_refuses_other_workloads_unless_forced_and_lists_backends_on_one_side():
    a = doc_with({"threads": [1.0, 1.1]})
    b = doc_with({"threads": [1.0, 1.1], "processes": [0.5, 0.6]}, size=20)
    with pytest.raises(UsageError, match="different workloads .*size 10 vs 20.*--force"):
        diff.compare(a, b)
    forced = diff.compare(a, b, force=True)
    assert forced.forced == ["size 10 vs 20"] and forced.only_b == ["processes"]
    assert "compared with --force" in diff.render(forced)
    with pytest.raises(UsageError, match="no backend in common"):
        diff.compare(a, doc_with({"processes": [1.0, 1.1]}))
