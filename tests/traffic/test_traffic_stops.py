"""Ctrl-C or SIGTERM in the middle of a load step: exit 130/143, no process left, nothing queued."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psutil
import pytest
import redis

from tests.helpers import ROOT


def _start(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("REDIS_URL", None)
    argv = [sys.executable, "-m", "producer", "load", "--workload", "sleep", "--size", "20", *args]
    return subprocess.Popen(
        argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _descendants_when_busy(proc: subprocess.Popen, want: int, timeout: float = 60) -> list[psutil.Process]:
    """Wait until the run has started its pool (``want`` descendants at least), then a step runs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = psutil.Process(proc.pid).children(recursive=True)
        if len(found) >= want:
            time.sleep(2.0)  # the child's pool warms up and the first step starts
            return psutil.Process(proc.pid).children(recursive=True)
        time.sleep(0.1)
    proc.kill()
    pytest.fail("the load run did not start its pool in time")


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_stop_ends_the_step_and_leaves_no_process(sig, code):
    proc = _start("--backends", "processes", "--concurrency", "2", "--rate", "50", "--duration", "30")
    children = _descendants_when_busy(proc, want=3)  # the child and its two pool processes
    proc.send_signal(sig)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == code, err
    assert err.strip().splitlines()[-1].startswith("poolbench: interrupted")
    assert "Traceback" not in err
    time.sleep(0.5)
    assert not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]


@pytest.mark.redis
def test_ctrl_c_during_a_celery_step_leaves_nothing_queued(redis_url, workers):
    client = redis.Redis.from_url(redis_url)
    proc = _start("--backends", "celery-threads", "--broker", redis_url, "--rate", "200", "--duration", "30")
    deadline = time.monotonic() + 30
    while client.llen("threads") < 20 and time.monotonic() < deadline:  # a backlog is building
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert client.llen("threads") == 0
    assert not list(client.scan_iter("poolbench:run:*"))
    time.sleep(1.0)  # a task running when the run ended stores nothing
    assert not list(client.scan_iter("celery-task-meta-*"))
