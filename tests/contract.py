"""The contract every backend keeps, written once; tests/backends/test_contract.py runs it over all of them.

As kombu's ``t/integration/common.py`` does for transports: a test class inherits
:class:`BackendContract` and provides one fixture, ``make``: ``make(**changes)`` returns a
backend (not started) built with ``CONTRACT_SETTINGS.replace(**changes)``.
"""

from __future__ import annotations

import re

import pytest

import workloads
from producer.backends.family import FAMILIES
from producer.errors import BatchTimeout
from producer.measure.tally import Tally
from producer.measure.verify import check_batch
from producer.settings import Settings
from tests.workloads.test_workloads import TINY

CONTRACT_SETTINGS = Settings(concurrency=2, timeout=60, worker_timeout=10)
RECORD_FIELDS = {"index", "started", "ended", "pid", "tid", "cpu_s"}


def expected(spec: str, size: int, tasks: int) -> list:
    """The answers, computed here, to compare every backend's with."""
    return [workloads.run_task(spec, size)["summary"]] * tasks


def check_records(records: list[dict], tasks: int) -> None:
    assert sorted(record["index"] for record in records) == list(range(tasks))
    for record in records:
        assert RECORD_FIELDS <= set(record), record
        assert record["started"] <= record["ended"]
        assert record["pid"] > 0 and record["cpu_s"] >= 0


class BackendContract:
    """Inherit, and define a ``make`` fixture."""

    def test_every_builtin_gives_the_baselines_answers(self, make):
        with make() as backend:
            for name, size in TINY.items():
                records = backend.run_batch(name, size, 3)
                assert check_batch(records, 3, expected(name, size, 3))[1] == [], name

    def test_many_batches_on_one_started_backend(self, make):
        with make(concurrency=3) as backend:
            for tasks in (7, 1, 4):
                records = backend.run_batch("squares", 500, tasks)
                assert check_batch(records, tasks, expected("squares", 500, tasks))[1] == []

    def test_records_go_into_the_tally_they_are_handed_as_they_come(self, make):
        want = expected("squares", 500, 5)
        with make() as backend:
            tally = Tally(5, want, measured=True)
            assert backend.run_batch("squares", 500, 5, into=tally) is tally
        assert tally.check.problems() == [] and tally.check.verified() == want
        kept = tally.finish()
        assert kept["task_count"] == 5 and sorted(t["index"] for t in kept["tasks"]) == list(range(5))
        assert kept["picture"]["kind"] == "tasks" and len(kept["picture"]["tasks"]) == 5

    def test_records_say_which_task_when_where_and_what_it_cost(self, make):
        with make() as backend:
            check_records(backend.run_batch("sleep", 1, 4), 4)

    def test_a_raising_workload_is_recorded_per_task(self, make):
        with make() as backend:
            # time.sleep(-0.001) raises ValueError; a Celery worker refuses size -1 with one first
            records = backend.run_batch("sleep", -1, 3)
        assert sorted(record["index"] for record in records) == [0, 1, 2]
        for record in records:
            assert record["error"]["type"] == "ValueError" and record["error"]["message"]
            assert "summary" not in record
        problems = check_batch(records, 3, None)[1]
        assert problems[0].startswith("task 0 raised ValueError: ") and len(problems) == 3

    def test_describe_says_what_it_is(self, make):
        with make() as backend:
            backend.run_batch("sleep", 0, 1)
            info = backend.describe()
        assert info["name"] == backend.spec.name
        assert (info["family"], info["pool"], info["needs_broker"]) == (
            backend.spec.family,
            backend.spec.pool,
            backend.spec.needs_broker,
        )
        assert info["family"] in FAMILIES
        assert info["via"] == FAMILIES[info["family"]].via and info["needs_broker"] is (
            info["via"] == "broker"
        )
        assert (info["model"], info["shares_gil"]) == (backend.spec.model, backend.spec.shares_gil)
        assert info["concurrency"] == backend.concurrency >= 1
        assert isinstance(info["settings"], dict) and isinstance(info["caveats"], list)

    def test_an_overrun_raises_batch_timeout_saying_how_many_completed(self, make):
        """Each task takes three times --timeout. Celery's result wait can overshoot --timeout
        by up to its 0.5 s drain interval, so a shorter margin would not hold for it."""
        with make(concurrency=1, timeout=0.5) as backend:
            with pytest.raises(BatchTimeout) as caught:
                backend.run_batch("sleep", 1500, 3)
        error = caught.value
        assert (error.tasks, error.completed < 3) == (3, True)
        assert re.fullmatch(
            rf"{re.escape(backend.spec.name)}: batch overran --timeout 0.5 s with {error.completed} of 3 "
            r"tasks completed(; still running, and stopped: tasks? [0-9, ]+"
            r"|; not completed: tasks? [0-9, ]+ [^;]+(; tasks? [0-9, ]+ [^;]+)*)?",  # Celery: and where
            str(error),
        ), str(error)
