"""``load``'s rows come from compare's Plan; a row's target from its declared via and model."""

from __future__ import annotations

import dataclasses

import pytest

from producer.backends import family as families
from producer.errors import UsageError
from producer.settings import Settings
from producer.traffic import targets


def _rows(*names: str, broker: str | None = "redis://127.0.0.1:1/0"):
    return targets.plan(Settings(backends=names, concurrency=3, broker_url=broker)).rows


def test_local_rows_get_a_child_pool_of_their_declared_model():
    threads, processes, sequential = _rows("threads", "processes", "sequential")
    assert targets.target(threads, "sleep", 1, 0.01).kind == "threads"
    assert targets.target(processes, "sleep", 1, 0.01).kind == "processes"
    one = targets.target(sequential, "sleep", 1, 0.01)  # serial: one thread
    assert (one.kind, one.concurrency, one.model) == ("threads", 1, "serial")


def test_a_broker_row_gets_its_familys_traffic_side_with_the_rows_queue():
    (row,) = _rows("celery-prefork", broker=None)  # embedded: the family gives the row its queue
    target = targets.target(row, "sleep", 1, 0.01)
    assert type(target).__module__ == families.entry("celery").traffic.split(":")[0]
    assert (target.model, target.via, target.concurrency) == ("processes", "broker", 3)
    assert row.params["queue"] and target.backend.queue == row.params["queue"]


def test_a_family_without_a_traffic_side_is_refused(monkeypatch):
    bare = dataclasses.replace(families.entry("celery"), traffic="")
    monkeypatch.setitem(families.FAMILIES, "celery", bare)
    with pytest.raises(UsageError, match="cannot feed the celery family"):
        targets.check(Settings(backends=("threads", "celery-threads")))
    targets.check(Settings(backends=("threads", "processes")))  # local rows need none
