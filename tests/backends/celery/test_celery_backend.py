"""The Celery backend against real Redis and real ``python -m worker`` processes."""

from __future__ import annotations

import psutil
import pytest
import redis

import workloads
from producer import backends
from producer.errors import BrokerUnavailable, NoWorker
from producer.measure.verify import check_batch
from producer.services.redis import mask_url
from producer.settings import Settings
from tests.conftest import HAVE_GEVENT
from tests.workloads.test_workloads import TINY
from workloads.summary import summarize_items

pytestmark = pytest.mark.redis
CELERY_POOLS = ["prefork", "threads", "solo"]


def make_backend(redis_url: str, pool: str, **changes):
    settings = Settings(broker_url=redis_url, timeout=60, worker_timeout=10, concurrency=2).replace(**changes)
    return backends.create(f"celery-{pool}", settings)


@pytest.fixture(params=CELERY_POOLS)
def backend(request, redis_url, workers):
    with make_backend(redis_url, request.param) as backend:
        yield backend


def test_every_builtin_gives_the_local_answers(backend):
    with backends.create("sequential", Settings()) as local:
        for name, size in TINY.items():
            expected = [record["summary"] for record in sorted(local.run_batch(name, size, 3), key=_index)]
            assert expected == [workloads.run_task(name, size)["summary"]] * 3
            records = backend.run_batch(name, size, 3)
            assert check_batch(records, 3, expected)[1] == [], name


def test_records_carry_the_worker_side_timings(backend, workers):
    records = backend.run_batch("sleep", 1, 4)
    node = workers[backend.pool].node
    assert sorted(record["index"] for record in records) == [0, 1, 2, 3]
    for record in records:
        assert record["worker"] == node
        assert record["sent"] <= record["received"] <= record["started"] <= record["ended"]
        assert {"host", "pid", "tid", "cpu_s", "summary"} <= set(record)
    if backend.pool == "prefork":
        assert workers["prefork"].proc.pid not in {record["pid"] for record in records}
    else:
        assert {record["pid"] for record in records} == {workers[backend.pool].proc.pid}


def test_describe_states_what_shaped_the_numbers(backend, workers):
    description = backend.describe()
    concurrency = 1 if backend.pool == "solo" else 2
    assert backend.concurrency == concurrency
    assert (description["family"], description["pool"], description["concurrency"]) == (
        "celery",
        backend.pool,
        concurrency,
    )
    node = workers[backend.pool].node
    settings = description["settings"]
    assert settings["queue"] == backend.pool and settings["workers"] == 1
    assert settings["broker"] == mask_url(backend.settings.broker_url)  # the session's Redis has a password
    # read back from the worker itself, as `python -m worker` starts it
    assert settings["prefetch_multiplier"] == 1
    assert settings["prefetch_count"] == 2  # multiplier x the --concurrency 2 it was started with
    assert (settings["acks_late"], settings["reject_on_worker_lost"]) == (True, True)
    assert (settings["mingle"], settings["gossip"], settings["heartbeat"]) == (False, False, False)
    assert settings["task_events"] is False
    assert settings["interpreter"] == workloads.interpreter()  # the workers run this same Python
    assert settings["nodes"][node]["pool"] == backend.pool


@pytest.mark.skipif(not HAVE_GEVENT, reason="gevent is not installed")
def test_gevent_pool_runs_tasks_and_stamps_their_receipt(redis_url, workers):
    with make_backend(redis_url, "gevent") as backend:
        records = backend.run_batch("sleep", 1, 2)  # no more than its concurrency: see the report
    assert [record["summary"] for record in sorted(records, key=_index)] == [{"count": 1, "checksum": 0}] * 2
    assert all(record["sent"] <= record["received"] <= record["started"] for record in records)
    assert {record["worker"] for record in records} == {workers["gevent"].node}


def test_an_allowed_user_file_gives_the_local_answer(redis_url, workers, user_specs):
    spec = user_specs["triples"]
    with make_backend(redis_url, "prefork") as backend:
        records = backend.run_batch(spec, 500, 2)
    assert [record["summary"] for record in records] == [workloads.run_task(spec, 500)["summary"]] * 2


def test_a_refused_workload_is_a_failed_task_with_a_hint(redis_url, workers, user_specs):
    spec = user_specs["triples"]  # the threads worker allows built-ins only
    with make_backend(redis_url, "threads") as backend:
        records = backend.run_batch(spec, 10, 2)
    for record in records:
        assert record["error"]["type"] == "WorkloadNotAllowed"
        assert f"start it with --allow {spec} or WORKLOAD_MODULES={spec}" in record["error"]["message"]


def test_a_failing_workload_reports_type_and_message_per_task(redis_url, workers, user_specs):
    """``flaky`` fails every second call in a process: on solo, tasks 1 and 3 of 4."""
    with make_backend(redis_url, "solo") as backend:
        records = sorted(backend.run_batch(user_specs["flaky"], 5, 4), key=_index)
    assert [record["index"] for record in records] == [0, 1, 2, 3]
    failed = [record for record in records if "error" in record]
    assert [record["error"] for record in failed] == [
        {"type": "ValueError", "message": "every second call fails"}
    ] * 2
    expected = summarize_items(list(range(5)))
    assert [record["summary"] for record in records if "error" not in record] == [expected] * 2


def test_a_workload_raising_in_a_prefork_child_reports_its_error(redis_url, workers, user_specs):
    with make_backend(redis_url, "prefork") as backend:
        records = backend.run_batch(user_specs["boom"], 3, 2)
    assert sorted(record["index"] for record in records) == [0, 1]
    assert [record["error"] for record in records] == [
        {"type": "ValueError", "message": "no good at size 3"}
    ] * 2


def test_a_batch_leaves_no_result_keys_in_redis(redis_url, workers):
    client = redis.Redis.from_url(redis_url)
    before = set(client.scan_iter("celery-task-meta-*"))
    with make_backend(redis_url, "prefork") as backend:
        backend.run_batch("squares", 100, 4)
        backend.run_batch("sleep", 1, 2)
    assert set(client.scan_iter("celery-task-meta-*")) - before == set()


def test_closing_releases_every_connection(redis_url, workers):
    port = int(redis_url.rsplit(":", 1)[1].split("/")[0])
    before = _connections_to(port)
    with make_backend(redis_url, "threads") as backend:
        backend.run_batch("sleep", 0, 2)
        assert _connections_to(port) > before
    assert _connections_to(port) == before


def test_an_unreachable_broker_is_one_line_naming_it_without_password():
    backend = backends.create("celery-prefork", Settings(broker_url="redis://:s3cret@127.0.0.1:1/0"))
    with pytest.raises(BrokerUnavailable) as caught:
        backend.start()
    message = str(caught.value)
    assert message.startswith("cannot reach Redis at redis://:***@127.0.0.1:1/0 (Connection refused)")
    assert "s3cret" not in message and "\n" not in message


def test_no_worker_on_the_queue_says_how_to_start_one(redis_url):
    lonely = redis_url.rsplit("/", 1)[0] + "/13"  # another database: no worker listens there
    port = int(redis_url.rsplit(":", 1)[1].split("/")[0])
    before = _connections_to(port)
    with pytest.raises(NoWorker) as caught:
        with make_backend(lonely, "prefork", worker_timeout=0.3):
            pass
    assert _connections_to(port) == before  # a failed start releases what it opened
    assert "no worker consumes queue 'prefork'" in str(caught.value)
    assert "python -m worker --pool prefork" in str(caught.value)


def _index(record: dict) -> int:
    return record["index"]


def _connections_to(port: int) -> int:
    """This process's open TCP connections to the port."""
    connections = psutil.Process().net_connections("tcp")
    return sum(1 for c in connections if c.raddr and c.raddr.port == port and c.status == "ESTABLISHED")
