"""Plans: the rows of compare, sweep and --python, each saying its backend, interpreter,
concurrency and workers; the session checks nothing again and reads nothing back from names."""

from __future__ import annotations

import pytest

from producer import api, plan, validation
from producer.errors import UsageError
from producer.settings import Settings

EMBEDDED = Settings(
    backends=("sequential", "threads", "celery-prefork"), concurrency=2, workers={"prefork": 2}
)


def test_compare_plans_one_row_per_backend_with_the_runs_settings():
    rows = plan.compare(EMBEDDED).rows
    assert [(r.label, r.concurrency, r.workers, r.params) for r in rows] == [
        ("sequential", 2, None, {}),
        ("threads", 2, None, {}),
        ("celery-prefork", 2, 2, {"queue": "prefork"}),
    ]


def test_a_sweep_plans_each_point_with_its_workers_and_a_queue_that_is_only_a_name():
    planned = plan.sweep(EMBEDDED, [1, 2], [1, 3])
    celery = [r for r in planned.rows if r.backend == "celery-prefork"]
    assert [(r.label, r.concurrency, r.workers) for r in celery] == [
        ("celery-prefork c=1 w=1", 1, 1),
        ("celery-prefork c=1 w=3", 1, 3),
        ("celery-prefork c=2 w=1", 2, 1),
        ("celery-prefork c=2 w=3", 2, 3),
    ]
    assert len({r.params["queue"] for r in celery}) == 4  # each point its own workers
    assert planned.sweep == plan.Sweep((1, 2), (1, 3))


def test_backend_names_put_the_baseline_first_once_and_refuse_none():
    assert plan.backend_names(["threads", " sequential", "threads"]) == ("sequential", "threads")
    with pytest.raises(UsageError, match="--backends names no backend"):
        plan.backend_names(["", " "])


def test_the_api_checks_its_settings_once_before_any_work(monkeypatch):
    calls = []
    real = validation.check
    monkeypatch.setattr(validation, "check", lambda *a, **k: calls.append(a) or real(*a, **k))
    run = api.compare("sleep", size=40, tasks=2, concurrency=1, backends=["scripted"], repeat=1, warmup=0)
    assert run.ok and len(calls) == 1
