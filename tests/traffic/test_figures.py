"""A step's figures (:mod:`producer.traffic.figures`) from made-up records: no clock, no services."""

from __future__ import annotations

import pytest

from producer.traffic import figures
from tests.traffic.made_up import _items, _record


def test_verify_counts_wrong_doubled_lost_and_purged():
    collected = [(0, _record(), 1.0), (0, _record(), 1.1), (1, _record("bad"), 1.0), (2, _record(), 1.0)]
    checked = figures.verify(6, collected, abandoned={4, 2}, expected="ok")
    assert (checked["checked"], checked["doubled"], checked["wrong"]) == (3, 1, 1)
    assert checked["abandoned"] == 1  # 2 returned after all: it is no longer "purged"
    assert checked["lost"] == 2  # 3 and 5: neither answered nor purged
    assert not checked["ok"] and any("lost" in p for p in checked["problems"])
    clean = figures.verify(2, [(0, _record(), 1.0), (1, _record(), 1.0)], set(), "ok")
    assert clean["ok"] and clean["problems"] == []


def test_a_steady_step_is_sustained():
    items = _items(200, 0.01, lambda i: 0.02)  # 100/s for 2 s, every answer in 20 ms
    step = figures.figures(items, 1000.0, 2.0, offered=100)
    assert step["sustained"] and not step["growing"]
    assert step["achieved"] == pytest.approx(100, rel=0.02)
    assert step["latency"]["p99"] == pytest.approx(0.02, rel=0.002)
    assert step["run_time"]["p50"] == pytest.approx(0.01)
    assert step["queue_wait"]["p50"] == pytest.approx(0.01)


def test_answers_still_on_their_way_at_the_end_of_a_steady_step_count():
    items = _items(200, 0.01, lambda i: 0.3)  # 100/s, every answer 300 ms: 30 in flight at the end
    step = figures.figures(items, 1000.0, 2.0, offered=100)
    assert step["outstanding"] in (29, 30)  # the 170th answer lands on the end, give or take a float
    assert step["settle"] == pytest.approx(0.3)
    assert step["achieved"] == pytest.approx(100, rel=0.02)
    assert step["sustained"]


def test_a_pool_past_its_capacity_stays_below_in_the_shifted_window():
    # 100/s sent, answered at 60/s in order: the shifted window does not hide the shortfall
    items = []
    for i in range(200):
        intended = 1000.0 + i * 0.01
        result_at = 1000.02 + i / 60
        items.append(
            figures.Arrival(i, intended, _record(started=result_at - 0.01, ended=result_at), result_at)
        )
    step = figures.figures(items, 1000.0, 2.0, offered=100)
    assert step["achieved"] < 0.95 * 100 and not step["sustained"]


def test_a_few_late_answers_are_not_growth():
    late = {150, 190}  # two answers in the second half held up 100 ms (a busy machine), no queue
    items = _items(200, 0.01, lambda i: 0.1 if i in late else 0.02)
    step = figures.figures(items, 1000.0, 2.0, offered=100)
    assert step["p99_halves"][1] > 1.5 * step["p99_halves"][0] + 0.005 + 0.02  # the ratio alone: growth
    assert not step["growing"] and step["sustained"]


def test_a_growing_queue_is_saturated():
    items = _items(200, 0.01, lambda i: 0.02 + i * 0.005)  # each waits 5 ms longer than the last
    step = figures.figures(items, 1000.0, 2.0, offered=100)
    assert step["growing"] and not step["sustained"]
    assert step["outstanding"] > 0
    assert max(step["timeline"]["outstanding"]) > 10


def test_a_slots_turnaround_counts_only_gaps_with_the_next_task_already_due():
    def arrival(i, intended, started, ended, tid):
        record = {**_record(started=started, ended=ended), "host": "h", "pid": 1, "tid": tid}
        return figures.Arrival(i, intended, record, ended + 0.001)

    items = [
        arrival(0, 0.0, 0.0, 1.0, tid=1),
        arrival(1, 0.5, 1.004, 2.0, tid=1),  # due before 0 ended: a 4 ms turnaround
        arrival(2, 1.9, 2.006, 3.0, tid=1),  # due before 1 ended: 6 ms
        arrival(3, 5.0, 5.0, 6.0, tid=1),  # due after 2 ended: an idle slot, not a turnaround
        arrival(4, 0.0, 0.0, 1.0, tid=2),  # another slot, one call: no gap
    ]
    found = figures.turnaround(items)
    assert found["count"] == 2
    assert found["p50"] == pytest.approx(0.005) and found["mean"] == pytest.approx(0.005)
    assert figures.turnaround(items[3:]) is None
