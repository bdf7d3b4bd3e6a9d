"""Workers that die mid-batch: a pool child or the whole worker, with and without another one.

Every test runs real ``python -m worker`` processes on a Redis of its own and checks:
each task completes exactly once (or the failure names the tasks and why), the run
says what happened, and nothing of the run is left in Redis.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import psutil
import pytest
import redis

from producer.errors import TasksLost
from producer.settings import Settings
from producer.stack import EmbeddedStack
from tests.faults import (
    BatchThread,
    held_by,
    make_backend,
    marked_workload,
    need_redis_server,
    once_each,
    pool_children,
    private_redis,
    running_workers,
    sigkill_group,
    started_pids,
    wait_until,
)
from tests.helpers import ROOT
from worker import protocol

pytestmark = pytest.mark.redis

DELIVERIES = protocol.MAX_DELIVERIES
DIE = "import os\n\n\ndef die(size):\n    os._exit(1)\n"


def held_in_beat(url: str, queue: str, node: str) -> list[str]:
    """The task ids a worker's last heartbeat says it holds."""
    with redis.Redis.from_url(url, socket_timeout=5) as client:
        raw = client.hget(protocol.heartbeat_key(queue), node)
    return json.loads(raw)["held"] if raw else []


def wait_holding(url: str, queue: str, nodes: list[str]) -> str:
    """The first of these nodes whose heartbeat shows it holds a task."""
    return wait_until(
        lambda: next((node for node in nodes if held_in_beat(url, queue, node)), None), 30, "a heartbeat"
    )


def running_in(marks, workers) -> list[tuple[int, object]]:
    """``(pid, worker)`` of each call running now in one of these workers' pool processes."""
    children = {child.pid: worker for worker in workers for child in pool_children(worker)}
    return [(pid, children[pid]) for pid in started_pids(marks) if pid in children]


@pytest.mark.parametrize("workers", [1, 2], ids=["alone", "with-another-worker"])
def test_a_pool_child_killed_mid_task_runs_it_again_once(tmp_path, workers):
    spec, marks = marked_workload(tmp_path)
    allow = ["--allow", spec]
    with private_redis(tmp_path) as server:
        with running_workers(server.url, tmp_path, "prefork", count=workers, args=allow) as started:
            with make_backend(server.url, "prefork") as backend:
                batch = BatchThread(backend, spec, 1500, 4)
                batch.start()
                # the pool process a call has just started in: killing it kills that call
                ((pid, _), *_) = wait_until(lambda: running_in(marks, started), 60, "a call started")
                psutil.Process(pid).kill()
                records = batch.join_result()
                incidents = list(backend.incidents)
            assert server.leftovers() == set()
    assert once_each(records, 4) and not [r for r in records if "error" in r]
    assert sorted(record["delivery"] for record in records) == [1, 1, 1, 2]
    retried = [i["detail"] for i in incidents if i["kind"] == "retried"]
    assert len(retried) == 1
    assert retried[0].endswith(": its worker process died (signal 9 SIGKILL); Celery ran it again")


def test_a_whole_worker_killed_mid_batch_hands_its_tasks_to_the_other(tmp_path):
    spec, marks = marked_workload(tmp_path)
    with private_redis(tmp_path) as server:
        with running_workers(server.url, tmp_path, "prefork", count=2, args=["--allow", spec]) as workers:
            doomed, survivor = workers
            with make_backend(server.url, "prefork") as backend:
                batch = BatchThread(backend, spec, 2000, 8)
                batch.start()
                wait_until(lambda: running_in(marks, [doomed]), 60, "a call started on the doomed worker")
                sigkill_group(doomed)  # mid-call: at least that call goes to the survivor
                records = batch.join_result()
                incidents = list(backend.incidents)
            assert server.leftovers() == set()
    assert once_each(records, 8) and not [r for r in records if "error" in r]
    assert {record["worker"] for record in records if record["delivery"] > 1} == {survivor.node}
    # what the doomed worker held: at least the call it ran, at most its 2 slots (prefetch 1)
    assert 1 <= sum(record["delivery"] > 1 for record in records) <= 2 * protocol.PREFETCH_MULTIPLIER
    vanished = [i["detail"] for i in incidents if i["kind"] == "vanished"]
    assert len(vanished) == 1 and vanished[0].startswith(f"worker {doomed.node} vanished")


def test_the_last_worker_killed_names_the_lost_tasks_and_leaves_nothing_queued(tmp_path):
    spec, marks = marked_workload(tmp_path)
    with private_redis(tmp_path) as server:
        with running_workers(server.url, tmp_path, "prefork", args=["--allow", spec]) as (doomed,):
            with make_backend(server.url, "prefork", worker_timeout=3) as backend:
                batch = BatchThread(backend, spec, 3000, 6)
                batch.start()
                wait_until(lambda: len(running_in(marks, [doomed])) == 2, 60, "tasks 0 and 1 started")
                sigkill_group(doomed)
                with pytest.raises(TasksLost) as caught:
                    batch.join_result()
            message = str(caught.value)
            assert server.leftovers() == set()  # nothing queued, held or stored for a later worker
            with running_workers(server.url, tmp_path, "prefork") as (later,):
                time.sleep(protocol.VISIBILITY_TIMEOUT_S + 2)  # a held message would be back by now
                assert server.leftovers() == set()
            assert "dropped" not in later.log.read_text()  # purged: nothing was even delivered
    assert message.startswith(f"celery-prefork: every worker on queue 'prefork' vanished ({doomed.node} ")
    assert "--worker-timeout 3 s; 0 of 6 tasks completed; not completed: tasks 0, 1 " in message
    # where 0 and 1 were: the producer names the holder if it read a heartbeat listing them (a beat
    # every LEASE_RENEW_S) before the kill, else it knows them only as delivered and unfinished
    held = f"tasks 0, 1 held by {doomed.node}, which vanished; "
    delivered = "tasks 0, 1 delivered to a worker that did not finish it; "
    assert held in message or delivered in message, message
    assert message.endswith("; tasks 2, 3, 4, 5 queued") and "\n" not in message


def test_the_embedded_stack_replaces_a_killed_worker_and_completes_the_batch():
    need_redis_server()
    settings = Settings(concurrency=2, startup_timeout=60, worker_timeout=10, timeout=120)
    with EmbeddedStack(settings, ["prefork"], allow=[]) as stack:
        with make_backend(stack.broker_url, "prefork") as backend:
            (node,) = backend.describe()["settings"]["nodes"]
            (leader,) = [p for p in psutil.Process().children() if node in p.cmdline()]
            batch = BatchThread(backend, "sleep", 2000, 4)
            batch.start()
            wait_holding(stack.broker_url, "prefork", [node])
            leader.send_signal(9)
            records = batch.join_result()
        fleet = stack.describe()["workers"]["prefork"]
        died = [entry for entry in stack._fleet.workers if entry.replaced]
    assert once_each(records, 4) and not [r for r in records if "error" in r]
    assert len(died) == 1 and died[0].node == node
    assert {record["worker"] for record in records if record["delivery"] > 1} != {node}
    assert len(fleet) == 2 and fleet[0]["died"] == "signal 9 (SIGKILL)"


def test_a_task_that_kills_its_pool_process_is_failed_after_three_deliveries(tmp_path):
    spec = tmp_path / "die.py"
    spec.write_text(DIE)
    spec = f"{spec}:die"
    with private_redis(tmp_path) as server:
        with running_workers(server.url, tmp_path, "prefork", args=["--allow", spec]) as (worker,):
            with make_backend(server.url, "prefork") as backend:
                records = backend.run_batch(spec, 1, 2)
            assert server.leftovers() == set()
            log = worker.log.read_text()
    deaths = log.count("exited with 'exitcode 1'")
    # never a loop (it was 533 runs in 30 s): 3 deliveries a task. One delivery can run twice
    # when its pool process dies at once, before billiard has it as started: the same message
    # (same retries, not redelivered) runs on the next process. Seen in about 1 run in 8 here,
    # by a probe that logged each run's task id and retries. Bounded all the same.
    assert 2 * protocol.MAX_DELIVERIES <= deaths <= 4 * protocol.MAX_DELIVERIES, log
    for record in records:
        message = f"killed its worker process (exit code 1) on each of its {DELIVERIES} deliveries"
        assert record["error"] == {
            "type": "ProcessDied",
            "message": message,
            "problem": f"task {record['index']} {message}",
        }


def test_a_task_that_kills_a_solo_worker_is_failed_after_three_deliveries(tmp_path):
    """Solo runs tasks in the worker itself: each delivery takes the worker down, and the
    embedded stack starts another; the third redelivery is failed, not run."""
    need_redis_server()
    path = tmp_path / "die.py"
    path.write_text(DIE)
    spec = f"{path}:die"
    settings = Settings(concurrency=1, startup_timeout=60, worker_timeout=30, timeout=200)
    with EmbeddedStack(settings, ["solo"], allow=[spec]) as stack:
        with make_backend(stack.broker_url, "solo", worker_timeout=30, timeout=200) as backend:
            (record,) = backend.run_batch(spec, 1, 1)
            incidents = [i["kind"] for i in backend.incidents]
        deaths = [w for w in stack._fleet.workers if w.replaced]
    assert record["error"]["type"] == "ProcessDied"
    assert record["error"]["message"] == (
        f"its worker vanished while it ran, on each of its {protocol.MAX_DELIVERIES} deliveries; "
        "it is not delivered again"
    )
    assert len(deaths) == protocol.MAX_DELIVERIES
    # the last death may be noticed by the heartbeats after the task was already failed
    assert protocol.MAX_DELIVERIES - 1 <= incidents.count("vanished") <= protocol.MAX_DELIVERIES


PRODUCER = """
import sys
from producer import backends
from producer.settings import Settings
backend = backends.create("celery-solo", Settings(broker_url=sys.argv[1], timeout=300, worker_timeout=10))
backend.start()
print("started", flush=True)
backend.run_batch("sleep", 2000, 6)
"""


def test_tasks_of_a_killed_producer_never_run_on_a_later_worker(tmp_path):
    """A producer and its only worker killed at once (a crashed host): nobody purges the
    queue. Once the run key has expired, a worker started later drops every message."""
    with private_redis(tmp_path) as server:
        with running_workers(server.url, tmp_path, "solo") as (first,):
            producer = subprocess.Popen(
                [sys.executable, "-c", PRODUCER, server.url], cwd=ROOT, stdout=subprocess.PIPE, text=True
            )
            try:
                assert producer.stdout.readline().strip() == "started"
                sent = lambda: server.count("solo") + held_by(server.url)  # noqa: E731
                wait_until(lambda: sent() == 6 and held_by(server.url) >= 1, 30, "6 tasks sent, 1 delivered")
            finally:
                producer.kill()
                producer.wait()
                producer.stdout.close()
            sigkill_group(first)
        left = server.leftovers()
        assert "solo" in left and "unacked" in left  # queued, and held by the dead worker
        run_keys = lambda: [k for k in server.keys() if k.startswith("poolbench:run:")]  # noqa: E731
        wait_until(lambda: not run_keys(), protocol.RUN_TTL_S + 10, "the run key to expire", state=run_keys)
        with running_workers(server.url, tmp_path, "solo") as (later,):
            dropped = lambda: later.log.read_text().count("has ended")  # noqa: E731
            wait_until(lambda: dropped() >= 6, protocol.VISIBILITY_TIMEOUT_S + 20, "6 drops", state=dropped)
            wait_until(lambda: not server.leftovers(), 20, "an empty Redis", state=server.leftovers)
            assert not [key for key in server.keys() if key.startswith("celery-task-meta-")]
    log = later.log.read_text()
    assert log.count("has ended") == 6, log  # each dropped (logs flushed on exit), none run
