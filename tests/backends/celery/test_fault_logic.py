"""The pure logic behind the Celery fault handling: no Redis, no worker, no clock."""

from __future__ import annotations

import json
import os

import pytest

from producer import broker_source
from producer.backends.celery.app import failure_of, process_died
from producer.backends.celery.batch import CeleryBatch
from producer.backends.celery.liveness import STALE_S, Liveness, Outage, parse, told
from producer.backends.celery.recovery import tasks_text
from producer.backends.celery.results import decode
from producer.backends.celery.run import _run_of
from producer.errors import UsageError
from worker import protocol
from worker.settings import WorkerConfigError, WorkerSettings

VT = protocol.VISIBILITY_TIMEOUT_S


@pytest.mark.parametrize(
    ("celery_says", "we_say"),
    [
        ("Worker exited prematurely: exitcode 1 Job: 3.", "killed its worker process (exit code 1)"),
        (
            "Worker exited prematurely: signal 9 (SIGKILL) Job: 7.",
            "its worker process died (signal 9 SIGKILL)",
        ),
        ("Worker exited prematurely: signal 15 Job: 7.", "its worker process died (signal 15)"),
        ("something else", "its worker process died (something else)"),
    ],
)
def test_celerys_worker_lost_error_reads_as_a_sentence(celery_says, we_say):
    assert process_died(celery_says) == f"{we_say} on each of its {protocol.MAX_DELIVERIES} deliveries"


def test_stored_failures_keep_the_workloads_own_type_and_message():
    workload = {"exc_type": "WorkloadFailed", "exc_message": ["ValueError", "boom"], "exc_module": "w"}
    assert failure_of(workload) == {"type": "ValueError", "message": "boom"}
    lost = {"exc_type": "WorkerLostError", "exc_message": ["Worker exited prematurely: exitcode 1 Job: 2."]}
    assert failure_of(lost)["type"] == protocol.PROCESS_DIED
    assert failure_of(lost)["message"].startswith("killed its worker process (exit code 1)")
    assert failure_of({"exc_type": "KeyError", "exc_message": "x"}) == {"type": "KeyError", "message": "x"}
    assert failure_of(42)["type"] == "UnexpectedResult"
    rebuilt = type("WorkloadFailed", (Exception,), {})("ValueError", "boom")  # as AsyncResult.get has it
    assert failure_of(rebuilt) == {"type": "ValueError", "message": "boom"}
    assert failure_of(KeyError("x")) == {"type": "KeyError", "message": "x"}


def test_results_are_decoded_only_when_they_look_like_celerys():
    meta = {"status": "SUCCESS", "result": {"summary": 1}, "task_id": "t"}
    assert decode(json.dumps(meta)) == meta
    assert decode(b"not json") is None
    assert decode(json.dumps({"status": "SUCCESS"})) is None
    assert decode(None) is None


def test_a_queued_message_names_its_run():
    message = {"body": "...", "headers": {"id": "t1", protocol.RUN_HEADER: "r1"}}
    assert _run_of(json.dumps(message)) == "r1"
    assert _run_of(json.dumps([message, "", "prefork"]), wrapped=True) == "r1"
    assert _run_of(b"garbage") is None
    assert _run_of(json.dumps({"headers": {}})) is None


def test_tasks_are_listed_briefly():
    assert tasks_text([3]) == "task 3"
    assert tasks_text([3, 4]) == "tasks 3, 4"
    assert tasks_text(list(range(12))) == "tasks 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, ... (12 in all)"


def beats(**nodes) -> dict:
    return parse({node: json.dumps({"at": at, "held": held}) for node, (at, held) in nodes.items()})


def test_a_worker_whose_beat_stops_is_vanished_after_the_visibility_timeout():
    live = Liveness()
    assert live.update(beats(a=(100.0, ["t1"]), b=(100.0, [])), now=0.0, wall_now=100.0) == ([], [])
    assert live.alive() == ["a", "b"] and live.holder("t1") == "a"
    # b keeps beating, a does not: judged by whether the beat changes, not by clocks
    assert live.update(beats(a=(100.0, ["t1"]), b=(108.0, [])), now=VT - 1, wall_now=5000.0) == ([], [])
    assert live.update(beats(a=(100.0, ["t1"]), b=(110.0, [])), now=VT + 1, wall_now=5000.0) == (["a"], [])
    assert live.alive() == ["b"] and live.known
    assert live.silent_for("a", VT + 1) == VT + 1
    # a comes back
    assert live.update(beats(a=(200.0, []), b=(110.0, [])), now=VT + 2, wall_now=5000.0) == ([], ["a"])
    assert live.alive() == ["a", "b"]


def test_a_long_dead_workers_entry_is_not_news():
    live = Liveness()
    live.update(beats(old=(1000.0, ["t"])), now=0.0, wall_now=1000.0 + STALE_S + 1)
    assert not live.known and live.alive() == []


def test_after_redis_was_away_every_worker_gets_a_fresh_timeout():
    live = Liveness()
    live.update(beats(a=(1.0, [])), now=0.0, wall_now=1.0)
    live.forgive(now=VT + 5)
    assert live.update(beats(a=(1.0, [])), now=VT + 6, wall_now=1.0) == ([], [])
    assert live.alive() == ["a"]


def test_an_outage_a_worker_reports_is_news_once_and_only_if_it_ended_while_watched():
    def beat(at, outages=0, outage_s=0.0, failed=0):
        entry = {"at": at, "held": []}
        if outages:
            entry.update(outages=outages, outage_s=outage_s, failed=failed)
        return parse({"a": json.dumps(entry)})

    live = Liveness()
    live.update(beat(100.0, outages=2, outage_s=9.0, failed=4), now=0.0, wall_now=100.0)
    assert live.outages() == []  # outages before the producer first looked are not this run's
    live.update(beat(102.0, outages=2, outage_s=9.0, failed=4), now=2.0, wall_now=102.0)
    assert live.outages() == []
    live.update(beat(108.1, outages=3, outage_s=6.1, failed=2), now=8.0, wall_now=108.1)
    (outage,) = live.outages()
    assert (outage.node, outage.count, outage.seconds, outage.failed) == ("a", 1, 6.1, 2)
    assert outage.sentence() == "worker a could not reach Redis for 6.1 s (2 heartbeat(s) failed)"
    assert live.outages() == []  # told once
    live.update(beat(120.0, outages=5, outage_s=4.0, failed=1), now=20.0, wall_now=120.0)
    assert live.outages()[0].sentence().endswith("(1 heartbeat(s) failed; the last of 2 outages)")


def test_an_outage_is_the_batchs_if_it_reached_into_it_and_none_if_redis_itself_was_lost():
    def outage(ended, seconds=6.0):
        return Outage("a", 1, seconds, 2, ended)

    # the batch began at 100; a lost Redis was back at 50
    said = told([outage(ended=103.0), outage(ended=90.0), outage(ended=54.0)], 100.0, 50.0, True)
    assert said == [
        ("worker a could not reach Redis for 6.0 s (2 heartbeat(s) failed); the producer's PINGs held: "
         "the fault was on the worker's path", True),
        ("worker a could not reach Redis for 6.0 s (2 heartbeat(s) failed), between batches", False),
    ]  # fmt: skip
    assert told([outage(ended=103.0)], 100.0, 0.0, False) == [
        ("worker a could not reach Redis for 6.0 s (2 heartbeat(s) failed)", True)
    ]


def test_unreadable_heartbeats_are_skipped():
    assert parse({b"a": b"{", b"b": json.dumps({"at": 1, "held": None})}) == {"b": {"at": 1.0, "held": []}}


SECRET = "redis://:s3cret@db:6379/0"


def test_the_broker_url_comes_from_a_variable_or_a_file(tmp_path):
    assert broker_source.resolve(None, "MY_URL", None, {"MY_URL": SECRET}, "REDIS_URL") == (
        SECRET,
        "--broker-env MY_URL",
    )
    path = tmp_path / "url"
    path.write_text(SECRET + "\n# a comment line is never read\n")
    path.chmod(0o600)
    assert broker_source.resolve(None, None, str(path), {}, "REDIS_URL") == (SECRET, f"--broker-file {path}")
    from_env = broker_source.resolve(None, None, None, {"REDIS_URL": SECRET}, "REDIS_URL")
    assert from_env == (SECRET, "REDIS_URL")
    assert broker_source.resolve(SECRET, None, None, {}, "REDIS_URL") == (SECRET, "--broker")
    assert broker_source.resolve(None, None, None, {}, "REDIS_URL") == (None, None)


def test_a_password_file_others_can_read_is_refused(tmp_path):
    path = tmp_path / "url"
    path.write_text(SECRET)
    path.chmod(0o640)
    with pytest.raises(UsageError, match=f"other users can read its password; chmod 600 {path}"):
        broker_source.resolve(None, None, str(path), {}, "REDIS_URL")
    path.write_text("redis://db:6379/0")  # no password: nothing to hide
    assert broker_source.resolve(None, None, str(path), {}, "REDIS_URL")[0] == "redis://db:6379/0"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        ((SECRET, "V", None), "--broker and --broker-env both name the broker"),
        ((None, "NOPE", None), "--broker-env NOPE: no such variable"),
        ((None, None, "/nonexistent/url"), "--broker-file /nonexistent/url: cannot read it"),
    ],
)
def test_an_unusable_broker_source_is_a_usage_error(args, needle):
    with pytest.raises(UsageError) as caught:
        broker_source.resolve(*args, {"V": SECRET}, "REDIS_URL")
    assert needle in str(caught.value) and "s3cret" not in str(caught.value)


def test_an_empty_broker_file_is_a_usage_error(tmp_path):
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(UsageError, match="the file is empty"):
        broker_source.resolve(None, None, str(tmp_path / "empty"), {}, "REDIS_URL")


def test_both_sides_use_one_set_of_transport_options():
    options = protocol.transport_options()
    assert options["visibility_timeout"] == VT and options["unacked_restore_throttle"] == 1
    assert options["socket_keepalive"] is True and options["socket_timeout"] == protocol.SOCKET_TIMEOUT_S
    assert options["health_check_interval"] == protocol.HEALTH_CHECK_S
    assert protocol.LEASE_RENEW_S * 3 <= VT  # several renewals fit in one timeout


class FakeBackend:
    """What a batch's result handling needs of its backend: somewhere to note incidents."""

    def __init__(self):
        self.incidents: list[tuple[str, str]] = []
        self.done = 0
        self.redis_run_id = None

    def incident(self, kind: str, detail: str) -> None:
        self.incidents.append((kind, detail))

    def task_done(self) -> None:
        self.done += 1

    def batch_prefix(self) -> str:
        return "pb-fake-1."


def meta(task_id: str, status: str = "SUCCESS", result=None) -> dict:
    return {"task_id": task_id, "status": status, "result": result if result is not None else {"summary": 1}}


def test_each_task_counts_once_the_first_result_wins_and_a_second_is_reported():
    backend = FakeBackend()
    batch = CeleryBatch(backend, "sleep", 0, 2)
    first = batch.ids.latest(0)
    batch._assign([0])  # task 0 sent again (Redis restarted): a new id for the same index
    again = batch.ids.latest(0)
    assert again != first and batch.ids.index_of(again) == batch.ids.index_of(first) == 0
    batch._arrive(meta(first, result={"summary": "first"}))
    batch._arrive(meta(first))  # pub/sub and a later fetch may both bring the same result
    batch._arrive(meta(again, result={"summary": "second"}))
    batch._arrive(meta("not-ours"))
    assert batch.records[0]["summary"] == "first" and batch.pending == [1] and backend.done == 1
    assert backend.incidents == [
        ("duplicate", "task 0 returned a second result (another delivery of it); counted once")
    ]


def test_a_retried_task_and_a_dead_process_read_as_sentences():
    backend = FakeBackend()
    batch = CeleryBatch(backend, "sleep", 0, 1)
    lost = {"exc_type": "WorkerLostError", "exc_message": ["Worker exited prematurely: exitcode 1 Job: 2."]}
    batch._arrive(meta(batch.ids.latest(0), "RETRY", lost))
    batch._arrive(meta(batch.ids.latest(0), "RETRY", lost))  # the same news twice: noted once
    batch._arrive(meta(batch.ids.latest(0), "FAILURE", lost))
    assert backend.incidents == [
        ("retried", "task 0 killed its worker process (exit code 1); Celery ran it again")
    ]
    assert batch.records[0]["error"]["problem"] == (
        f"task 0 killed its worker process (exit code 1) on each of its {protocol.MAX_DELIVERIES} deliveries"
    )


def test_a_worker_reads_the_broker_url_from_a_file(tmp_path):
    path = tmp_path / "redis-url"
    path.write_text(SECRET + "\n")
    assert WorkerSettings.from_env({"REDIS_URL_FILE": str(path)}).broker_url == SECRET
    assert WorkerSettings.from_env({"REDIS_URL_FILE": str(path), "REDIS_URL": "redis://x/0"}).broker_url == (
        "redis://x/0"
    )
    with pytest.raises(WorkerConfigError, match="REDIS_URL_FILE=/nonexistent: cannot read it"):
        WorkerSettings.from_env({"REDIS_URL_FILE": "/nonexistent"})


class Delivery:
    """What the guard reads of a Celery request: its id, headers and delivery info."""

    def __init__(self, task_id: str, run_id: str, retries: int = 0, redelivered: bool = False):
        self.id = task_id
        self.request_dict = {protocol.RUN_HEADER: run_id, "retries": retries}
        self.delivery_info = {"redelivered": redelivered}


@pytest.mark.redis
def test_the_guard_counts_retries_and_redeliveries_together_and_drops_a_dead_runs_tasks(redis_url):
    import redis

    from worker.guard import Guard

    run_id, task_id = f"guard-{os.getpid()}", "t-1"
    client = redis.Redis.from_url(redis_url)
    client.set(protocol.run_key(run_id), "1", ex=60)
    guard = Guard(lambda: redis_url)
    try:
        assert guard.admit(Delivery(task_id, run_id), lambda r: False) == (1, None)
        assert guard.admit(Delivery(task_id, run_id, retries=1), lambda r: False) == (2, None)
        # kombu gave the retried message back once: that delivery counts too, in either order
        assert guard.admit(Delivery(task_id, run_id, retries=1, redelivered=True), lambda r: False) == (
            3,
            None,
        )
        delivery, action = guard.admit(Delivery(task_id, run_id, retries=2), lambda r: False)
        assert delivery == 4 > protocol.MAX_DELIVERIES and action is not None  # failed, not run
        delivery, action = guard.admit(Delivery(task_id, run_id, redelivered=True), lambda r: True)
        assert action is not None  # this worker runs another delivery of it: dropped
        client.delete(protocol.run_key(run_id))
        later = Guard(lambda: redis_url)  # a worker that has not seen the run alive within RUN_CHECK_S
        delivery, action = later.admit(Delivery("t-2", run_id), lambda r: False)
        assert action is not None  # the run has ended: dropped
    finally:
        client.delete(protocol.run_key(run_id), protocol.deliveries_key(run_id))
        client.close()


@pytest.mark.redis
def test_a_retry_and_a_restored_copy_of_one_delivery_each_take_their_own_number(redis_url):
    """The retried message (retries=1) and kombu's copy of the first delivery (retries=0,
    redelivered) both come back: the second must not run as delivery 2 again."""
    import redis

    from worker.guard import Guard

    run_id, task_id = f"guard-race-{os.getpid()}", "t-1"
    client = redis.Redis.from_url(redis_url)
    client.set(protocol.run_key(run_id), "1", ex=60)
    guard = Guard(lambda: redis_url)
    try:
        numbers = [
            guard.admit(Delivery(task_id, run_id), lambda r: False)[0],
            guard.admit(Delivery(task_id, run_id, retries=1), lambda r: False)[0],
            guard.admit(Delivery(task_id, run_id, redelivered=True), lambda r: False)[0],
        ]
        assert numbers == [1, 2, 3]
        delivery, action = guard.admit(Delivery(task_id, run_id, retries=2), lambda r: False)
        assert delivery == 4 and action is not None  # a fourth run never happens
    finally:
        client.delete(protocol.run_key(run_id), protocol.deliveries_key(run_id))
        client.close()


class SealedBackend:
    """A backend whose fields a batch may read and never set (recovery returns what it found)."""

    def __init__(self, url: str, redis_run_id: str, settings):
        from producer.backends.celery.results import ResultWatcher
        from producer.backends.celery.run import RunLease

        fields = {
            "url": url,
            "redis_run_id": redis_run_id,
            "settings": settings,
            "watcher": ResultWatcher(url),
            "lease": RunLease(url, f"sealed-{os.getpid()}"),
            "liveness": Liveness(),
            "nodes": [],
            "queue": f"sealed-{os.getpid()}",
            "incidents": [],
            "name": "celery-sealed",
            "batch_prefix": lambda: f"pb-sealed-{os.getpid()}-1.",
        }
        object.__setattr__(self, "_fields", fields)

    def __getattr__(self, name):
        try:
            return self._fields[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name, value):
        raise AssertionError(f"the batch set its backend's {name}")

    def incident(self, kind: str, detail: str) -> None:
        self.incidents.append((kind, detail))

    def close(self) -> None:
        self.watcher.close()
        self.lease.close()


@pytest.mark.redis
def test_recovery_keeps_what_it_found_on_the_batch_and_leaves_the_backend_alone(redis_url):
    """Redis answers with another run_id (a restart): the batch notes the new id and sends its
    task again; the backend takes the id when the batch ends (CeleryBackend._through)."""
    import time

    from producer.services.redis import check_redis
    from producer.settings import Settings

    backend = SealedBackend(redis_url, "an-earlier-redis", Settings(broker_url=redis_url, timeout=5))
    try:
        batch = CeleryBatch(backend, "sleep", 0, 1)
        first = batch.ids.latest(0)
        batch._recover(ConnectionError("reset by peer"), time.monotonic() + 5)
        assert batch.redis_run_id == check_redis(redis_url)["run_id"] != backend.redis_run_id
        assert batch.ids.latest(0) != first  # lost with the old Redis's queues: sent again
        assert backend.incidents[0][0] == "broker" and "restarted" in backend.incidents[0][1]
    finally:
        backend.close()


@pytest.mark.redis
def test_a_redis_that_stays_away_is_the_brokerlost_the_batch_raises_nothing_more(redis_url):
    import socket
    import time

    from producer.errors import BrokerLost
    from producer.settings import Settings

    backend = SealedBackend(redis_url, "a-redis", Settings(broker_url=redis_url, timeout=5))
    with socket.socket() as probe:  # a port nobody listens on once it is closed
        probe.bind(("127.0.0.1", 0))
        gone = f"redis://127.0.0.1:{probe.getsockname()[1]}/0"
    backend._fields["url"] = gone
    try:
        batch = CeleryBatch(backend, "sleep", 0, 1)
        batch._assign([0])
        with pytest.raises(BrokerLost, match="did not come back"):
            batch._recover(ConnectionError("refused"), time.monotonic() + 0.5)
        assert batch.redis_run_id == "a-redis"
    finally:
        backend.close()


def test_describe_only_reads():
    """describe() says what the backend is; it sends nothing and changes nothing."""
    from producer import backends
    from producer.settings import Settings

    class Untouchable:
        def __getattr__(self, name):
            raise AssertionError(f"describe() used the result watcher's {name}")

    backend = backends.create("celery-threads", Settings(broker_url="redis://127.0.0.1:1/0"))
    backend.watcher = Untouchable()
    before = dict(vars(backend))
    first = backend.describe()
    assert backend.describe() == first and vars(backend) == before
    assert first["name"] == "celery-threads" and first["settings"]["queue"] == "threads"
