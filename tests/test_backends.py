"""The contract every local backend keeps, over every built-in workload.

The Celery backends keep the same contract: tests/test_celery_backend.py runs
this suite's checks against them with a real Redis and real workers.
"""

from __future__ import annotations

import os
import time

import pytest

import workloads
from producer import backends
from producer.errors import BatchTimeout
from producer.measure.verify import check_batch
from producer.settings import Settings
from tests.helpers import ORIGINAL
from tests.test_workloads import TINY

LOCAL = ["sequential", "threads", "processes"]


def expected(spec: str, size: int, tasks: int) -> list:
    return [workloads.run_task(spec, size)["summary"] for _ in range(tasks)]


def check_contract(backend, spec: str, size: int, tasks: int) -> list[dict]:
    records = backend.run_batch(spec, size, tasks)
    summaries, problems = check_batch(records, tasks, expected(spec, size, tasks))
    assert problems == []
    for record in records:
        assert record["started"] <= record["ended"]
        assert record["pid"] > 0 and record["cpu_s"] >= 0
    return records


@pytest.mark.parametrize("name", LOCAL)
@pytest.mark.parametrize("workload", sorted(TINY))
def test_results_equal_the_baseline(name, workload):
    with backends.create(name, Settings(concurrency=2, timeout=60)) as backend:
        check_contract(backend, workload, TINY[workload], tasks=3)


@pytest.mark.parametrize("name", LOCAL)
def test_many_batches_on_one_started_backend(name):
    with backends.create(name, Settings(concurrency=3, timeout=60)) as backend:
        for _ in range(3):
            check_contract(backend, "squares", 500, tasks=7)


def test_processes_run_in_other_processes_and_threads_in_this_one():
    with backends.create("processes", Settings(concurrency=2)) as b:
        assert {r["pid"] for r in b.run_batch("sleep", 20, 4)} - {os.getpid()} != set()
        assert os.getpid() not in {r["pid"] for r in b.run_batch("sleep", 1, 2)}
    with backends.create("threads", Settings(concurrency=2)) as b:
        records = b.run_batch("sleep", 20, 4)
        assert {r["pid"] for r in records} == {os.getpid()}
        assert len({r["tid"] for r in records}) == 2


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_user_file_with_out_list_signature_in_child_processes(tmp_path, method):
    path = tmp_path / "mine.py"
    path.write_text(ORIGINAL)
    spec = workloads.canonical(f"{path}:do_something")
    with backends.create("processes", Settings(concurrency=2, start_method=method, timeout=60)) as b:
        records = b.run_batch(spec, 1000, 3)
    assert [r["summary"] for r in records] == [workloads.run_task("squares", 1000)["summary"]] * 3


@pytest.mark.parametrize("name", LOCAL)
def test_a_raising_workload_is_recorded_per_task(tmp_path, name):
    path = tmp_path / "boom.py"
    path.write_text("def f(size):\n    raise KeyError('missing')\n")
    with backends.create(name, Settings(concurrency=2)) as b:
        records = b.run_batch(f"{path}:f", 1, 2)
    assert [r["error"]["type"] for r in records] == ["KeyError", "KeyError"]


@pytest.mark.parametrize("name", LOCAL)
def test_a_batch_that_overruns_the_timeout_says_how_many_completed(name):
    with backends.create(name, Settings(concurrency=1, timeout=0.5)) as b:
        start = time.monotonic()
        with pytest.raises(BatchTimeout, match=r"overran --timeout 0.5 s with [01] of 3 tasks completed"):
            b.run_batch("sleep", 400, 3)
        assert time.monotonic() - start < 5
        b.close()


def test_backends_describe_themselves():
    backend = backends.create("processes", Settings(concurrency=3, start_method="spawn"))
    assert backend.describe() == {
        "name": "processes",
        "family": "local",
        "pool": None,
        "needs_broker": False,
        "concurrency": 3,
        "caveats": [],
        "settings": {"start_method": "spawn"},
    }
    assert backends.create("sequential", Settings(concurrency=3)).describe()["concurrency"] == 1
    celery = backends.create("celery-solo", Settings(broker_url="redis://127.0.0.1:1/0")).describe()
    assert (celery["family"], celery["pool"], celery["needs_broker"]) == ("celery", "solo", True)


def test_registry_suggests_a_name():
    from producer.errors import UsageError

    with pytest.raises(UsageError, match="did you mean 'threads'"):
        backends.spec("thread")
    assert backends.spec("celery-prefork").pool == "prefork"
    assert not backends.spec("processes").needs_broker
