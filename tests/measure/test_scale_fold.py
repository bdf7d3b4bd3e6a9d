"""Issue 20, pure logic: per-task records folded as they arrive, pictures that scale, a
document whose size does not follow the task count (nothing timed)."""

from __future__ import annotations

import json
import random
import statistics

import pytest

from producer.measure import picture
from producer.measure.runs import BackendRun, Batch
from producer.measure.spread import EXACT, Spread
from producer.report import lanes
from tests.fakes import fake_run, make_doc


def test_a_spread_is_exact_up_to_its_limit_and_within_the_histograms_precision_beyond():
    few = [0.3, 0.1, 0.2, 0.9, 0.5]
    s = Spread().extend(few).as_dict()
    q1, median, q3 = statistics.quantiles(few, n=4, method="inclusive")
    assert (s["q1"], s["median"], s["q3"]) == (q1, statistics.median(few), q3)
    assert s["p90"] == statistics.quantiles(few, n=10, method="inclusive")[-1]
    assert s["stdev"] == pytest.approx(statistics.stdev(few)) and s["n"] == 5 and "values" not in s
    rng = random.Random(7)
    many = [rng.uniform(1e-5, 2e-3) for _ in range(EXACT * 20)]
    big = Spread().extend(many).as_dict()
    assert big["mean"] == pytest.approx(statistics.fmean(many)) and big["max"] == max(many)
    cuts = statistics.quantiles(many, n=100, method="inclusive")
    for name, cut in (("q1", cuts[24]), ("median", cuts[49]), ("q3", cuts[74]), ("p99", cuts[98])):
        assert big[name] == pytest.approx(cut, rel=3e-3), name  # 3 digits, and one sample's rank


def test_a_spread_counts_each_value_in_the_bucket_record_value_would_and_merges_as_one():
    from hdrh.histogram import HdrHistogram

    from producer.measure.spread import HIGHEST, UNIT_S

    rng = random.Random(3)
    values = [rng.lognormvariate(-8, 2) for _ in range(EXACT * 30)] + [-1e-4, 0.0, 7200.0]
    one = HdrHistogram(1, HIGHEST, 3)
    for v in values:
        one.record_value(min(HIGHEST, max(0, round(v / UNIT_S))))
    bulk = Spread().extend(values)
    bulk.as_dict()  # reads: every value folded in and written
    assert list(bulk._h.counts) == list(one.counts) and bulk._h.total_count == one.total_count
    assert (bulk._h.min_value, bulk._h.max_value) == (one.min_value, one.max_value)
    halves = Spread().extend(values[:7_000])
    halves.merge(Spread().extend(values[7_000:]))
    whole, merged = bulk.as_dict(), halves.as_dict()
    assert merged == pytest.approx(whole, rel=1e-12) and merged["clamped"] == merged["below_zero"] == 1
    empty = Spread()
    empty.merge(Spread())
    assert empty.as_dict() is None


def test_a_negative_value_counts_and_is_said():
    s = Spread().extend([-0.001, 0.002, 0.003]).as_dict()
    assert s["below_zero"] == 1 and s["min"] == -0.001


def records(n, lanes_n=2, seconds=1e-3, cpu=0.5, sent=False, t0=100.0):
    """n tasks back to back on each of ``lanes_n`` threads, each ``seconds`` long."""
    out = []
    for i in range(n):
        start = t0 + (i // lanes_n) * seconds
        rec = {"index": i, "pid": 7, "tid": i % lanes_n, "host": "box", "started": start,
               "ended": start + seconds, "cpu_s": seconds * cpu, "runq_s": 0.0, "summary": i}  # fmt: skip
        if sent:
            rec |= {"sent": t0 - 0.01, "received": t0, "publish_s": 1e-5, "collected": start + seconds}
        out.append(rec)
    return out


def test_few_tasks_are_kept_as_boxes_many_as_occupancy_that_keeps_every_tasks_time():
    small = picture.picture(records(40))
    assert small["kind"] == "tasks" and len(small["tasks"]) == 40 and "summary" not in small["tasks"][0]
    many = records(4000, lanes_n=4, cpu=0.25)
    big = picture.picture(many)
    assert big["kind"] == "occupancy" and big["tasks"] == 4000 and len(big["lanes"]) == 4
    busy_s = sum(sum(lane["busy"]) for lane in big["lanes"]) * big["bin_s"]
    cpu_s = sum(sum(lane["cpu"]) for lane in big["lanes"]) * big["bin_s"]
    assert busy_s == pytest.approx(4000 * 1e-3, rel=0.01)  # bins rounded to 3 decimals
    assert cpu_s == pytest.approx(busy_s * 0.25, rel=0.01)
    assert all(0 <= v <= 1.0005 for lane in big["lanes"] for v in lane["busy"])
    assert picture.picture(records(picture.BOXES + 1, lanes_n=8))["kind"] == "occupancy"


def test_the_sample_is_every_kth_task_and_bounded():
    rows = picture.sample(records(1000))
    assert len(rows) == picture.SAMPLE_SIZE and [r["index"] for r in rows[:3]] == [0, 20, 40]
    assert len(picture.sample(records(7))) == 7


def test_a_run_lets_each_batchs_records_go_once_folded():
    run = BackendRun("threads")
    for r in range(3):
        run.batches.append(Batch(r, r == 0, 1.0, 0.5, records(picture.WHOLE + 1)))
        run.fold_pending()
    assert all(b.tasks == [] and b.folded for b in run.batches)
    assert run.fold.records == 3 * (picture.WHOLE + 1) and run.fold.measured == 2 * (picture.WHOLE + 1)
    run.fold_pending()  # twice is once
    assert run.fold.records == 3 * (picture.WHOLE + 1)


def _doc(tasks: int) -> dict:
    def run(name, walls, concurrency):
        r = fake_run(name, walls, concurrency=concurrency, tasks=tasks)
        for b in r.batches:  # spread the tasks over time and lanes, as a real round has them
            b.tasks = records(tasks, lanes_n=concurrency, seconds=b.wall_s * concurrency / tasks)
        r.summaries = list(range(tasks))
        return r

    return make_doc(run("sequential", [1.0, 1.02, 0.98], 1), run("threads", [0.5, 0.52, 0.49], 2))


def test_the_document_does_not_grow_with_the_tasks():
    small, large = _doc(2_000), _doc(20_000)
    size = {n: len(json.dumps(d)) for n, d in ((2_000, small), (20_000, large))}
    assert size[20_000] < 1.2 * size[2_000] and size[20_000] < 200_000, size
    threads = large["results"][1]
    assert threads["tasks"]["verified"] == 3 * 20_000 and threads["tasks"]["measured"] == 3 * 20_000
    assert len(threads["tasks"]["sample"]["tasks"]) == picture.SAMPLE_SIZE
    assert all("tasks" not in rnd and rnd["task_count"] == 20_000 for rnd in threads["rounds"])
    assert threads["timeline"]["kind"] == "occupancy"
    assert threads["timeline"]["round"] == 1  # 0.5 s: the median
    assert threads["task_run_s"]["n"] == 3 * 20_000 and threads["speedup"]["value"] > 1.9


def test_the_binned_timeline_reads_back_as_lanes_with_their_occupancy():
    doc = _doc(5_000)
    line = lanes.timeline(doc["results"][1])
    assert line.binned and line.tasks == 5_000 and line.most_per_lane == 2_500
    assert [lane.label for lane in line.lanes] == ["thread 1", "thread 2"]
    assert line.cpu_share == pytest.approx(0.5, abs=0.01)  # records(): half of each on a CPU
    assert line.end == pytest.approx(doc["results"][1]["timeline"]["end_s"])
    few = lanes.timeline(_doc(40)["results"][1])
    assert not few.binned and sum(len(lane.bars) for lane in few.lanes) == 40


def test_a_binned_panel_says_so_and_draws():
    pytest.importorskip("matplotlib")
    from producer.report import plot, timeline_chart

    doc = _doc(5_000)
    line = lanes.timeline(doc["results"][1])
    left, right = timeline_chart._panel_titles(line, doc["results"][1])
    assert "5,000 tasks binned by" in left and "on a CPU 50%" in right
    small = _doc(40)
    left, _ = timeline_chart._panel_titles(lanes.timeline(small["results"][1]), small["results"][1])
    assert "binned" not in left
    assert plot.render(doc, image_format="svg", chart="timeline").lstrip().startswith(b"<?xml")
