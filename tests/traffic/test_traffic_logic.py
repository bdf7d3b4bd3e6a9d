"""``poolbench load``'s logic with a scripted clock and made-up records: no sleeps, no services."""

from __future__ import annotations

import pytest

from producer.errors import UsageError
from producer.report import load_text as text
from producer.traffic import arrivals, capacity, cpu, document, figures, histogram
from producer.traffic.generator import LAG_LIMIT_S, OpenLoop, ceiling
from workloads import resolve


class ScriptedClock:
    """A clock that moves only when slept on, or when a send costs time."""

    def __init__(self, send_cost: float = 0.0):
        self.now, self.send_cost, self.sleeps = 100.0, send_cost, []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_poisson_schedule_is_seeded_and_near_its_rate():
    a = arrivals.schedule(200, 10, "poisson", seed=7)
    assert a == arrivals.schedule(200, 10, "poisson", seed=7)
    assert a != arrivals.schedule(200, 10, "poisson", seed=8)
    assert 1800 < len(a) < 2200 and all(0 <= x < 10 for x in a) and a == sorted(a)


def test_uniform_schedule_has_equal_gaps():
    a = arrivals.schedule(50, 2, "uniform", seed=1)
    assert len(a) == 100 and a[1] - a[0] == pytest.approx(0.02) and a[-1] - a[-2] == pytest.approx(0.02)


def test_bad_schedule_arguments_raise():
    with pytest.raises(ValueError):
        arrivals.schedule(0, 1, "poisson", 1)
    with pytest.raises(ValueError):
        arrivals.schedule(1, 1, "bursty", 1)


def test_generator_sends_on_time_and_never_waits_for_results():
    clock = ScriptedClock()
    sent = []
    loop = OpenLoop(
        [0.0, 0.5, 1.0], lambda i, at: sent.append((i, at, clock.now)), clock=clock, sleep=clock.sleep
    )
    report = loop.run(start=100.0, wall_start=5000.0)
    assert [(i, at) for i, at, _ in sent] == [(0, 5000.0), (1, 5000.5), (2, 5001.0)]
    assert [now for *_, now in sent] == [100.0, 100.5, 101.0]  # no result is ever waited for
    summary = report.summary(latency_p99=0.1)
    assert summary["p99"] == 0 and not summary["behind"]


def test_a_generator_that_cannot_keep_up_is_behind():
    clock = ScriptedClock()

    def slow_send(index, intended):
        clock.now += 0.01  # each send costs 10 ms; tasks are due every 1 ms

    report = OpenLoop([i / 1000 for i in range(200)], slow_send, clock=clock, sleep=clock.sleep).run(
        100.0, 0.0
    )
    summary = report.summary(latency_p99=0.5)
    assert summary["p99"] > LAG_LIMIT_S and summary["behind"]
    assert summary["ceiling"] == pytest.approx(100)
    # the same lag beside a latency twenty times larger is not what set the latency
    assert not report.summary(latency_p99=1000.0)["behind"]


def test_ceiling_counts_sends_per_second():
    ticks = iter([0.0, 2.0])
    assert ceiling(lambda i, t: None, count=1000, clock=lambda: next(ticks)) == 500


def test_histogram_is_within_its_stated_precision():
    h = histogram.of([0.001 * i for i in range(1, 1001)])  # 1 ms .. 1 s
    error = histogram.PRECISION["relative_error"]
    assert h.percentile(50) == pytest.approx(0.5, rel=2 * error)
    assert h.percentile(99) == pytest.approx(0.99, rel=2 * error)
    assert h.summary()["max"] == pytest.approx(1.0, rel=2 * error)
    assert h.summary()["count"] == 1000
    assert histogram.Latencies().summary()["p99"] is None


def _record(summary="ok", started=0.0, ended=0.0, error=None):
    record = {"summary": summary, "started": started, "ended": ended}
    if error:
        record["error"] = error
    return record


def test_verify_counts_wrong_doubled_lost_and_purged():
    collected = [(0, _record(), 1.0), (0, _record(), 1.1), (1, _record("bad"), 1.0), (2, _record(), 1.0)]
    checked = figures.verify(6, collected, abandoned={4, 2}, expected="ok")
    assert (checked["checked"], checked["doubled"], checked["wrong"]) == (3, 1, 1)
    assert checked["abandoned"] == 1  # 2 returned after all: it is no longer "purged"
    assert checked["lost"] == 2  # 3 and 5: neither answered nor purged
    assert not checked["ok"] and any("lost" in p for p in checked["problems"])
    clean = figures.verify(2, [(0, _record(), 1.0), (1, _record(), 1.0)], set(), "ok")
    assert clean["ok"] and clean["problems"] == []


def _items(n, gap, latency_of, run=0.01):
    items = []
    for i in range(n):
        intended = 1000.0 + i * gap
        latency = latency_of(i)
        record = _record(started=intended + latency - run, ended=intended + latency)
        items.append(figures.Arrival(i, intended, record, intended + latency))
    return items


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
        items.append(figures.Arrival(i, intended, _record(started=result_at - 0.01, ended=result_at), result_at))
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


def _result(name, model, via, p99, interval, shares_gil=False, cap=None):
    step = {
        "offered": 50,
        "achieved": 50,
        "sustained": True,
        "latency": {"p99": p99, "p99_interval": interval},
    }
    return {
        "name": name,
        "model": model,
        "via": via,
        "shares_gil": shares_gil,
        "steps": [step],
        "capacity": cap or {"value": 50, "low": 50, "high": None, "saturated": False},
    }


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


def test_document_kind_and_schema_are_checked():
    doc = {**_doc(), "kind": "load", "schema": document.SCHEMA}
    document.check(doc)
    document.check({**doc, "schema": 1})  # the first version still reads
    for bad, says in (
        ({**doc, "kind": "compare"}, "not a load document"),
        ({**doc, "schema": 99}, "schema 99"),
        ({**doc, "results": []}, "without settings or results"),
        ({**doc, "results": [{"name": "x"}]}, "has no model, via, steps, capacity"),
    ):
        with pytest.raises(UsageError, match=says):
            document.check(bad, "x.json")


def _doc():
    items = _items(200, 0.01, lambda i: 0.02)
    step = figures.figures(items, 1000.0, 2.0, offered=100)
    step.update(
        seed=3,
        sent=200,
        generator_lag={"p50": 0.0, "p99": 0.001, "max": 0.002, "behind": False, "ceiling": 5000.0},
        verified=figures.verify(1, [(0, _record(), 1.0)], set(), "ok"),
        loadavg=[1.5, 1.0, 0.5],
    )
    step["verified"].pop("_seen")
    result = _result("threads", "threads", "local", 0.02, [0.019, 0.021], shares_gil=True)
    result.update(steps=[step], concurrency=4, send_ceiling=5000.0, model_capacity=None)
    doc = {
        "settings": {
            "workload": "sleep",
            "kind": "io",
            "size": 20,
            "concurrency": 4,
            "rates": [100],
            "repeat": 1,
            "duration": 2.0,
            "arrivals": "poisson",
            "seed": 3,
            "broker": None,
        },
        "baseline": {"run_s": 0.02, "runs_s": [0.02, 0.021, 0.02]},
        "histogram": histogram.PRECISION,
        "generator": {"ceiling": 100000.0},
        "machine": {"cpu_count": 2},
        "results": [result],
        "verdict": capacity.verdict([result]),
    }
    return doc


def test_report_fits_80_columns_and_states_its_settings():
    doc = _doc()
    report = text.render(doc)
    assert all(len(line) <= 80 for line in report.splitlines()), report
    assert "poisson arrivals, seed 3" in report and "3 significant digits" in report
    assert "machine load" in report and "none lost or doubled" in report


def test_pictures_and_html_render():
    pytest.importorskip("matplotlib")
    from producer.report import load_html as html
    from producer.report import load_plot as plot

    doc = _doc()
    assert plot.render(doc, "png").startswith(b"\x89PNG")
    page = html.render(doc)
    assert page.count("<svg") == 1 and "<script" not in page and "none lost or doubled" in page


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
    assert found["p50"] == pytest.approx(0.005)
    assert figures.turnaround(items[3:]) is None


def test_the_turnaround_model_adds_the_gap_read_at_the_lowest_saturated_step():
    steps = [
        {"offered": 50.0, "sustained": True, "turnaround": {"p50": 0.001, "count": 40}},
        {"offered": 90.0, "sustained": False, "turnaround": {"p50": 0.005, "count": 80}},
        {"offered": 120.0, "sustained": False, "turnaround": {"p50": 0.009, "count": 90}},
        {"offered": 70.0, "sustained": False, "refused": "behind", "turnaround": {"p50": 1.0, "count": 99}},
    ]
    model = capacity.turnaround_model("io-bound", 2, 0.020, False, 2, steps)
    assert model["value"] == pytest.approx(2 / 0.025)
    assert (model["turnaround_s"], model["at_rate"], model["gaps"]) == (0.005, 90.0, 80)
    assert capacity.turnaround_model("cpu-bound", 4, 0.020, False, 2, steps)["value"] == pytest.approx(2 / 0.025)
    assert capacity.turnaround_model("cpu-bound", 2, 0.020, True, 2, steps) is None  # one GIL: the gap is filled
    assert capacity.turnaround_model("io-bound", 2, 0.020, False, 2, steps[:1]) is None  # never fed without pause
