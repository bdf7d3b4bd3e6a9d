"""Pure logic: statistics, verification, verdict and report (fakes allowed here)."""

from __future__ import annotations

import pytest

from producer.measure.stats import describe, welch_p
from producer.measure.verify import MOST_NAMED, check_batch, checksum


def test_describe_gives_median_spread_and_quartiles():
    s = describe([1, 2, 3, 4, 10])
    assert (s.median, s.min, s.max, s.q1, s.q3, s.iqr) == (3, 1, 10, 2, 4, 2)
    assert s.stdev == pytest.approx(3.5355, rel=1e-4)
    assert s.unstable


def test_describe_of_one_value_has_no_spread():
    s = describe([2.0])
    assert (s.stdev, s.iqr, s.unstable) == (0.0, 0.0, False)


def test_stable_values_are_not_flagged():
    assert not describe([1.00, 1.01, 0.99, 1.02]).unstable


def test_welch_matches_a_published_example():
    # Welch's t-test, example 1 on Wikipedia: p = 0.021
    a = [27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4]
    b = [27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4]
    assert welch_p(a, b) == pytest.approx(0.021, abs=0.001)
    assert welch_p([1, 2, 3], [1, 2, 3]) == pytest.approx(1.0)
    assert welch_p([1.0], [2.0, 3.0]) is None


def record(index, summary=None, **extra):
    return {"index": index, "summary": summary if summary is not None else {"count": 1}, **extra}


def test_check_batch_accepts_a_complete_batch_in_any_order():
    summaries, problems = check_batch([record(1), record(0)], 2, [{"count": 1}] * 2)
    assert problems == [] and summaries == [{"count": 1}] * 2


@pytest.mark.parametrize(
    "records, problem",
    [
        ([record(0)], "1 of 2 results missing"),
        ([record(0), record(0), record(1)], "task 0 returned twice"),
        ([record(0), record(1), record(7)], "unexpected results for tasks [7]"),
        ([record(0), record(1, {"count": 2})], "1 of 2 results differ from the sequential baseline"),
        (
            [record(0), {"index": 1, "error": {"type": "ValueError", "message": "x"}}],
            "task 1 raised ValueError: x",
        ),
    ],
)
def test_check_batch_names_what_went_wrong(records, problem):
    _, problems = check_batch(records, 2, [{"count": 1}] * 2)
    assert any(problem in p for p in problems), problems


def test_checksum_depends_on_order_and_content():
    assert checksum([{"a": 1}, {"a": 2}]) != checksum([{"a": 2}, {"a": 1}])
    assert checksum([{"a": 1}]) == checksum([{"a": 1}])


def test_a_batch_names_its_first_failures_and_counts_the_rest():
    """A workload that raises on every one of 1,000 tasks is a few lines, not a thousand."""
    failing = [{"index": i, "error": {"type": "ValueError", "message": "x"}} for i in reversed(range(1000))]
    _, problems = check_batch(failing + [failing[0]] * 15, 1000, None)
    named = [p for p in problems if p.startswith("task ") and "raised" in p]
    assert [p.split()[1] for p in named] == [str(i) for i in range(MOST_NAMED)]
    assert f"{1000 - MOST_NAMED} more tasks failed" in problems
    assert problems.count("task 999 returned twice") == MOST_NAMED
    assert f"{15 - MOST_NAMED} more results returned twice" in problems and len(problems) < 25
