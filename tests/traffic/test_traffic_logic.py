"""``poolbench load``'s logic with a scripted clock and made-up records: no sleeps, no services."""

from __future__ import annotations

import pytest

from producer.errors import UsageError
from producer.report import load_text as text
from producer.traffic import arrivals, capacity, document, figures, histogram
from producer.traffic.generator import LAG_LIMIT_S, OpenLoop, ceiling
from tests.traffic.made_up import _items, _record, _result


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
