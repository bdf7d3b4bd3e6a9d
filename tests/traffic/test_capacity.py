"""Capacity, its models and the traffic verdict (:mod:`producer.traffic.capacity`, :mod:`.cpu`)."""

from __future__ import annotations

import pytest

from producer.traffic import capacity, cpu
from tests.traffic.made_up import _result
from workloads import resolve


def test_capacity_is_the_highest_rate_sustained_with_its_bracket():
    steps = [
        {"offered": 100, "achieved": 100, "sustained": True},
        {"offered": 150, "achieved": 148, "sustained": True},
        {"offered": 200, "achieved": 180, "sustained": False},
        {"offered": 300, "achieved": 120, "sustained": False},
        {"offered": 400, "achieved": 400, "sustained": True, "refused": "generator behind"},
    ]
    c = capacity.capacity(steps)
    assert (c["value"], c["low"], c["high"], c["interval"]) == (150, 150, 200, "bracket")
    assert c["peak"] == 180 and c["saturated"]
    never = capacity.capacity(steps[:2])
    assert never["value"] == 150 and not never["saturated"] and never["high"] is None
    none = capacity.capacity(steps[2:4])
    assert none["value"] is None and none["high"] == 200


def test_capacity_interval_from_repetitions():
    steps = [
        {"offered": r, "achieved": r, "sustained": r <= top, "repetition": k}
        for k, top in enumerate((100, 150, 120))
        for r in (100, 120, 150, 200)
    ]
    c = capacity.capacity(steps)
    assert (c["value"], c["low"], c["high"], c["interval"], c["repetitions"]) == (
        120,
        100,
        150,
        "repetitions",
        3,
    )


def test_quantile_interval_brackets_the_quantile():
    values = [i / 1000 for i in range(1000)]
    low, high = capacity.quantile_interval(values, 0.99)
    assert low <= 0.99 <= high and high - low < 0.02
    assert capacity.quantile_interval(values[:10]) is None


def test_verdict_decides_by_model_and_says_undecided_when_intervals_overlap():
    decided = capacity.verdict(
        [
            _result("pool-a", "processes", "local", 0.010, [0.009, 0.011]),
            _result("pool-b", "threads", "local", 0.050, [0.040, 0.060], shares_gil=True),
        ]
    )
    best = decided["at_rate"][0]["local"]
    assert best["model"] == "processes" and best["decided"] and "broker" not in decided["at_rate"][0]
    overlap = capacity.verdict(
        [
            _result("x", "processes", "broker", 0.010, [0.008, 0.030]),
            _result("y", "threads", "broker", 0.012, [0.009, 0.020], shares_gil=True),
        ]
    )
    assert overlap["at_rate"][0]["broker"]["undecided"] == "the p99 intervals overlap"


def test_model_capacity():
    assert capacity.model_capacity("io", 4, 0.02, True, 2)["value"] == pytest.approx(200)
    assert capacity.model_capacity("cpu", 4, 0.1, True, 2)["value"] == pytest.approx(10)
    assert capacity.model_capacity("cpu", 4, 0.1, False, 2)["value"] == pytest.approx(20)
    assert capacity.model_capacity("mixed", 4, 0.1, False, 2) is None
    # the workloads' own words (the old ones above are what documents before them said)
    assert capacity.model_capacity("io-bound", 4, 0.02, True, 2)["value"] == pytest.approx(200)
    assert capacity.model_capacity("cpu-bound", 4, 0.1, False, 2)["value"] == pytest.approx(20)
    assert capacity.model_capacity("gil-releasing", 4, 0.1, False, 2) is None
    assert capacity.model_capacity(resolve("squares").kind, 2, 0.1, False, 2)["value"] == pytest.approx(20)
    assert capacity.model_capacity(resolve("sleep").kind, 2, 0.1, True, 2)["value"] == pytest.approx(20)


def test_model_with_the_cpu_left_subtracts_what_was_measured():
    step = {"offered": 40.0, "sustained": False, "cpu": {"overhead": 0.25, "producer": 0.05, "others": 0.75}}
    left = cpu.left_model("cpu-bound", 2, 0.02, 2, step)
    assert left["cores_left"] == pytest.approx(1.0) and left["value"] == pytest.approx(50)
    assert cpu.left_model("cpu-bound", 1, 0.02, 2, step)["value"] == pytest.approx(50)  # one GIL: 1 slot
    assert cpu.left_model("io-bound", 2, 0.02, 2, step) is None  # waits use no CPU
    quiet = {**step, "cpu": {"overhead": 0.0, "producer": 0.0, "others": None}}
    assert cpu.left_model("cpu-bound", 2, 0.02, 2, quiet)["value"] == pytest.approx(100)
    measured = {**step, "cpu": {**step["cpu"], "call_cpu_p50": 0.025}}  # a call's own CPU time, when known
    assert cpu.left_model("cpu-bound", 2, 0.02, 2, measured)["value"] == pytest.approx(40)
    steps = [
        {"offered": 20.0, "sustained": True, "cpu": {}},
        {"offered": 40.0, "sustained": False, "cpu": {}},
        {"offered": 60.0, "sustained": False, "cpu": {}},
        {"offered": 80.0, "sustained": False, "refused": "behind", "cpu": {}},
    ]
    assert cpu.at_capacity(steps, {"value": 20.0})["offered"] == 40.0
    assert cpu.at_capacity(steps[:1], {"value": 20.0})["offered"] == 20.0


def test_the_turnaround_model_adds_the_gap_read_at_the_lowest_saturated_step():
    steps = [
        {"offered": 50.0, "sustained": True, "turnaround": {"mean": 0.001, "count": 40}},
        {"offered": 90.0, "sustained": False, "turnaround": {"mean": 0.005, "p50": 0.004, "count": 80}},
        {"offered": 120.0, "sustained": False, "turnaround": {"mean": 0.009, "count": 90}},
        {"offered": 70.0, "sustained": False, "refused": "behind", "turnaround": {"mean": 1.0, "count": 99}},
    ]
    model = capacity.turnaround_model("io-bound", 2, 0.020, False, 2, steps)
    assert model["value"] == pytest.approx(2 / 0.025)
    assert (model["turnaround_s"], model["at_rate"], model["gaps"]) == (0.005, 90.0, 80)
    own_gil = capacity.turnaround_model("cpu-bound", 4, 0.020, False, 2, steps)
    assert own_gil["value"] == pytest.approx(2 / 0.025)  # min(C, CPUs) slots
    # one GIL: another thread runs in the gap
    assert capacity.turnaround_model("cpu-bound", 2, 0.020, True, 2, steps) is None
    assert (
        capacity.turnaround_model("io-bound", 2, 0.020, False, 2, steps[:1]) is None
    )  # never fed without pause
