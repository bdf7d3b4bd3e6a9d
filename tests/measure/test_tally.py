"""A batch's results verified and folded as they arrive (producer/measure/tally.py): the same
answers whatever the order they come in, warm-up rounds counted but not timed, and a memory
that does not follow the number of tasks."""

from __future__ import annotations

import random
import tracemalloc

import pytest

from producer.measure import picture
from producer.measure.fold import Fold
from producer.measure.records import Records, Summaries
from producer.measure.tally import Tally
from producer.measure.verify import check_batch
from tests.measure.test_records import celery_like
from tests.measure.test_scale_fold import records


def tallied(rows, measured=True, expected=None, tasks=None) -> Tally:
    tally = Tally(len(rows) if tasks is None else tasks, expected, measured)
    for row in rows:
        tally.append(row)
    return tally


def test_a_tally_counts_warmup_rounds_as_verified_but_times_only_measured_ones():
    fold = Fold()
    warm = tallied(records(500), measured=False)
    assert warm.finish() == {"task_count": 500, "task_cpu_s": pytest.approx(500 * 0.5e-3), "tasks": []}
    fold.merge(warm.fold)
    timed = tallied(records(500, sent=True))
    kept = timed.finish()
    fold.merge(timed.fold)
    assert fold.records == 1000 and fold.measured == 500 and fold.run_s.n == 500
    assert kept["tasks"] == [] and kept["task_count"] == 500 and len(kept["sample"]) == picture.SAMPLE_SIZE
    assert fold.time_split() == pytest.approx({"cpu": 0.5, "runq": 0.0, "waiting": 0.5})
    parts = fold.breakdown("box")
    assert parts["calls"] == 500 and parts["messages"] == 500 and parts["clock"] == "one host"
    assert parts["run_s"]["median"] == pytest.approx(1e-3)
    small = tallied(list(reversed(records(10)))).finish()
    assert [t["index"] for t in small["tasks"]] == list(range(10))  # a small round keeps all, in order
    assert all("summary" not in t for t in small["tasks"])


def test_what_a_batch_keeps_does_not_depend_on_the_order_its_results_came_in():
    rows = celery_like(3_000)
    shuffled = random.Random(2).sample(rows, len(rows))
    a, b = tallied(rows), tallied(shuffled)
    kept_a, kept_b = a.finish(), b.finish()
    assert kept_a["sample"] == kept_b["sample"] and [t["index"] for t in kept_a["sample"][:2]] == [0, 60]
    pa, pb = kept_a["picture"], kept_b["picture"]
    assert pa["kind"] == pb["kind"] == "occupancy" and pa["tasks"] == pb["tasks"] == 3_000

    def busy_s(p):
        return sum(sum(lane["busy"]) for lane in p["lanes"]) * p["bin_s"]

    run_s = sum(r["ended"] - r["started"] for r in rows)
    assert busy_s(pa) == pytest.approx(run_s, rel=0.01) and busy_s(pb) == pytest.approx(run_s, rel=0.01)
    assert picture.BINS // 2 - 1 <= pb["bins"] <= picture.BINS and picture.BINS // 2 - 1 <= pa["bins"]
    assert pb["end_s"] >= max(r["ended"] for r in rows) - min(r["sent"] for r in rows)
    assert a.fold.run_s.as_dict() == b.fold.run_s.as_dict()
    assert a.fold.parts["queue_wait_s"].as_dict() == b.fold.parts["queue_wait_s"].as_dict()


def test_a_tally_finds_the_problems_check_batch_finds():
    rows = celery_like(20)
    expected, _ = check_batch(rows, 20, None)
    bad = [dict(r) for r in rows[1:]] + [dict(rows[5]), {**rows[0], "summary": {"count": 7}}]
    tally = tallied(bad, expected=expected, tasks=20)
    assert tally.check.problems() == check_batch(bad, 20, expected)[1] == ["task 5 returned twice"]
    assert tally.check.verified() is None and len(tally) == 21 and tally.fold.records == 20
    wrong = tallied([{**rows[0], "summary": {"count": 7}}, *rows[1:]], expected=expected)
    assert (
        wrong.check.problems()
        == check_batch([{**rows[0], "summary": {"count": 7}}, *rows[1:]], 20, expected)[1]
    )
    assert wrong.check.problems()[0].startswith("1 of 20 results differ from the sequential baseline (task 0")
    good = tallied(random.Random(1).sample(rows, 20), expected=expected)
    assert good.check.problems() == [] and good.check.verified() is expected


def test_the_baselines_own_batch_keeps_its_summaries_in_task_order():
    rows = celery_like(30)
    tally = tallied(list(reversed(rows)))
    assert tally.check.problems() == [] and list(tally.check.verified()) == [r["summary"] for r in rows]


def test_a_redelivered_task_is_kept_for_the_backends_disturbances():
    rows = celery_like(400)
    rows[7]["redelivered"] = True
    tally = tallied(rows)
    assert [r["index"] for r in tally.redelivered] == [7]


def test_a_tally_holds_no_more_for_ten_times_the_tasks():
    """A Records of the same tasks holds about 90 bytes a task; the tally a byte."""
    n = 100_000
    expected = Summaries([{"count": 1}] * n)

    def row(i):
        return {"index": i, "started": i * 1e-4, "ended": i * 1e-4 + 5e-5, "cpu_s": 4e-5, "runq_s": 0.0,
                "pid": 7, "tid": i % 10, "host": "box", "sent": i * 1e-4 - 1e-3, "received": i * 1e-4 - 1e-5,
                "publish_s": 1e-5, "collected": i * 1e-4 + 1e-4, "summary": {"count": 1}}  # fmt: skip

    tracemalloc.start()
    try:
        tally = Tally(n, expected, measured=True)
        for i in range(n // 10):
            tally.append(row(i))
        at_tenth = tracemalloc.get_traced_memory()[0]
        for i in range(n // 10, n):
            tally.append(row(i))
        grown = tracemalloc.get_traced_memory()[0] - at_tenth
        held = Records(row(i) for i in range(n // 10))
        records_tenth = tracemalloc.get_traced_memory()[0] - at_tenth - grown
    finally:
        tracemalloc.stop()
    assert tally.check.problems() == [] and tally.fold.records == n
    assert grown < 200_000, grown  # 90,000 more tasks: histograms already made, a byte a task
    assert records_tenth > 10 * grown, (records_tenth, grown)  # a tenth of them as records
    del held
