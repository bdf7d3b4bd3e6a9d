"""Redis killed mid-batch: restarted on the same port (the run recovers, every result once),
or gone for good (exit 3 within BROKER_WAIT_S, one line, the report of what completed)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
import redis

from producer.backends.celery.recovery import BROKER_WAIT_S
from producer.errors import BrokerLost
from tests.faults import (
    PASSWORD,
    BatchThread,
    held_by,
    make_backend,
    once_each,
    private_redis,
    running_workers,
    wait_until,
)
from tests.helpers import ROOT

pytestmark = pytest.mark.redis


@pytest.mark.parametrize("pool", ["prefork", "threads"])
def test_redis_restarted_mid_batch_loses_no_result_and_counts_none_twice(tmp_path, pool):
    with private_redis(tmp_path) as server:
        with running_workers(server.url, tmp_path, pool):
            with make_backend(server.url, pool) as backend:
                batch = BatchThread(backend, "sleep", 5000, 6)  # 0 and 1 outlast the outage
                batch.start()
                wait_until(lambda: held_by(server.url) >= 2, 30, "two tasks delivered")
                # delivered is not started: once, in CI, task 1 was not yet taken by a prefork
                # child, no worker held it after the restart, and it was sent again with 2 to 5
                time.sleep(0.5)
                server.kill()
                time.sleep(1.5)
                server.restart()  # empty: the queued tasks are gone with the old one
                records = batch.join_result()
                incidents = [i["detail"] for i in backend.incidents]
            assert server.leftovers() == set()
    assert once_each(records, 6) and not [r for r in records if "error" in r]
    restarted = [i for i in incidents if i.startswith("Redis restarted mid-batch")]
    assert len(restarted) == 1, incidents
    # the two running on the worker were not sent again: they finished there
    assert restarted[0].endswith("and lost its queues; tasks 2, 3, 4, 5 sent again"), restarted


def test_redis_gone_for_good_fails_the_batch_within_the_wait(tmp_path):
    with private_redis(tmp_path) as server:
        with running_workers(server.url, tmp_path, "prefork"):
            with make_backend(server.url, "prefork") as backend:
                batch = BatchThread(backend, "sleep", 1500, 6)
                batch.start()
                wait_until(lambda: held_by(server.url) >= 2, 30, "two tasks delivered")
                server.kill()
                with pytest.raises(BrokerLost) as caught:
                    batch.join_result(timeout=BROKER_WAIT_S + 60)
            server.restart()  # for the fixtures' orderly stop
    message = str(caught.value)
    url = f"redis://:***@127.0.0.1:{server.port}/0"
    # the socket's own words: refused, or reset by peer when the kill lands mid-read
    assert message.startswith(f"celery-prefork: lost Redis at {url} mid-batch (Connection "), message
    assert ") and it did not come back within" in message, message
    assert f"did not come back within {BROKER_WAIT_S:.0f} s; 0 of 6 tasks completed; not " in message
    assert caught.value.exit_code == 3 and PASSWORD not in message and "\n" not in message


def batch_held(url: str) -> bool:
    """Two messages held for 0.3 s: the batch's 1-second tasks, not the backend's start (a ping,
    then a burst of no-op tasks that measures a message's cost, each held a few milliseconds)."""
    if held_by(url) < 2:
        return False
    time.sleep(0.3)
    return held_by(url) >= 2


def compare_in_background(url: str, json_path, *extra: str) -> subprocess.Popen:
    """``python -m producer compare`` with the broker's URL in the environment, not in argv."""
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env.update(PYTHONPATH=str(ROOT), BENCH_BROKER=url)
    args = ["--workload", "sleep", "--size", "1000", "--tasks", "4", "--concurrency", "2"]
    args += ["--repeat", "1", "--warmup", "0", "--backends", "sequential,celery-prefork"]
    args += ["--broker-env", "BENCH_BROKER", "--json", str(json_path)]
    return subprocess.Popen(
        [sys.executable, "-m", "producer", "compare", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_the_cli_reports_what_completed_and_exits_3_when_redis_does_not_return(tmp_path):
    out = tmp_path / "out.json"
    with private_redis(tmp_path) as server:
        with running_workers(server.url, tmp_path, "prefork"):
            producer = compare_in_background(server.url, out)
            try:
                wait_until(
                    lambda: batch_held(server.url), 60, "the celery-prefork batch"
                )  # not the start's ping, nor its burst of no-op tasks
                server.kill()
                stdout, stderr = producer.communicate(timeout=BROKER_WAIT_S + 90)
            finally:
                if producer.poll() is None:
                    producer.kill()
            server.restart()
    assert producer.returncode == 3, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "poolbench: error: celery-prefork: lost Redis at redis://:***@"
    )
    assert "Traceback" not in stdout + stderr and PASSWORD not in stdout + stderr
    assert "sequential" in stdout and "celery-prefork" in stdout  # the report of what did complete
    doc = json.loads(out.read_text())
    sequential, prefork = doc["results"]
    assert sequential["ok"] and sequential["wall_s"]["n"] == 1
    assert not prefork["ok"] and prefork["exit_code"] == 3 and prefork["problems"][-1] in lines[0]
    assert PASSWORD not in out.read_text()


def test_the_cli_recovers_when_redis_comes_back_and_says_so(tmp_path):
    out = tmp_path / "out.json"
    with private_redis(tmp_path) as server:
        with running_workers(server.url, tmp_path, "prefork"):
            producer = compare_in_background(server.url, out)
            try:
                wait_until(
                    lambda: batch_held(server.url), 60, "the celery-prefork batch"
                )  # not the start's ping, nor its burst of no-op tasks
                server.kill()
                time.sleep(1.5)
                server.restart()
                stdout, stderr = producer.communicate(timeout=120)
            finally:
                if producer.poll() is None:
                    producer.kill()
    assert producer.returncode == 0, stderr
    doc = json.loads(out.read_text())
    prefork = doc["results"][1]
    assert prefork["ok"] and doc["results"][0]["checksum"] == prefork["checksum"]
    kinds = [i["kind"] for i in prefork["settings"]["faults"]["incidents"]]
    # a task the worker finished while Redis was away, and reported only after its fresh beat,
    # is sent again and its second result dropped as a duplicate: both are the design
    assert kinds[0] == "broker" and set(kinds) <= {"broker", "duplicate"}, kinds
    assert any("faults during the run" in caveat for caveat in prefork["caveats"])  # so: not ranked
    assert "Redis restarted mid-batch" in stdout


def test_a_message_the_broker_lost_is_found_missing_and_sent_again(tmp_path):
    """A queued message vanishes (as with a failover to a replica that lacked it): once the
    batch stalls, the task is found in no queue and with no worker, twice, and sent again."""
    with private_redis(tmp_path) as server:
        with running_workers(server.url, tmp_path, "solo"):
            with make_backend(server.url, "solo", timeout=200) as backend:
                batch = BatchThread(backend, "sleep", 500, 4)
                batch.start()
                client = redis.Redis.from_url(server.url, socket_timeout=5)
                raw = wait_until(lambda: client.lindex("solo", 0), 30, "a queued message")
                assert client.lrem("solo", 1, raw) == 1  # the oldest queued: task 3, or 2
                records = batch.join_result()
                incidents = [i for i in backend.incidents if i["kind"] == "lost"]
            assert server.leftovers() == set()
    assert once_each(records, 4) and not [r for r in records if "error" in r]
    assert len(incidents) == 1, backend.incidents
    assert incidents[0]["detail"].endswith(" in no queue and held by no worker (lost); sent again")


def test_redis_lost_under_a_no_result_batch_is_brokerlost_at_once(tmp_path):
    """--chunks and --no-result batches share the run, not yet the wait for Redis: the loss
    is the default path's BrokerLost (exit 3, reported with the backend), without the wait."""
    with private_redis(tmp_path) as server:
        with running_workers(server.url, tmp_path, "threads"):
            with make_backend(server.url, "threads", no_result=True, chunks=2) as backend:
                batch = BatchThread(backend, "sleep", 3000, 4)
                batch.start()
                wait_until(lambda: held_by(server.url) >= 2, 30, "two chunks delivered")
                server.kill()
                with pytest.raises(BrokerLost) as caught:
                    batch.join_result(timeout=BROKER_WAIT_S)
                assert backend.broker_lost
            server.restart()  # for the fixtures' orderly stop
    message = str(caught.value)
    url = f"redis://:***@127.0.0.1:{server.port}/0"
    # the words are the socket's or redis-py's: closed by the server, reset by peer, refused
    assert message.startswith(f"celery-threads: lost Redis at {url} mid-batch ("), message
    assert message.endswith("batch does not wait for it; 0 of 4 tasks collected"), message
    assert caught.value.exit_code == 3 and PASSWORD not in message
