"""The report states the workers' real settings, read back from the workers themselves.

A worker started with the stock ``celery -A worker worker`` keeps Celery's defaults
for mingle and gossip, and ``--prefetch-multiplier 4`` is a command-line override that
``inspect().conf()`` does not show: both must reach the report as they really are.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

from tests.conftest import celery_cli, worker_env
from tests.helpers import ROOT, run_cli


def _start_stock_worker(redis_url: str, folder, node: str) -> subprocess.Popen:
    log = open(folder / "stock-worker.log", "wb")  # noqa: SIM115 - closed with the process
    args = ["-A", "worker", "worker", "-P", "threads", "-c", "2", "-Q", "threads", "-n", node]
    return subprocess.Popen(
        [*celery_cli(), *args, "--prefetch-multiplier", "4", "--loglevel", "WARNING"],
        cwd=ROOT,
        env=worker_env(redis_url),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def test_a_stock_celery_worker_is_reported_with_its_real_mingle_and_prefetch(redis_url, tmp_path):
    redis_url = redis_url.rsplit("/", 1)[0] + "/7"  # a database of its own: no other threads worker there
    node = f"stock-{os.getpid()}@localhost"
    proc = _start_stock_worker(redis_url, tmp_path, node)
    try:
        args = ["compare", "-v", "--workload", "sleep", "--size", "1", "--tasks", "2", "--concurrency", "2"]
        args += ["--repeat", "1", "--warmup", "0", "--backends", "celery-threads", "--json", "-"]
        deadline = time.monotonic() + 60
        while True:  # the worker takes a moment (mingle waits for replies) before it consumes
            done = run_cli(*args, "--broker", redis_url, "--worker-timeout", "20", timeout=120)
            if done.returncode != 4 or time.monotonic() > deadline:
                break
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout)["results"][1]
        settings = result["settings"]
        assert list(settings["nodes"]) == [node]
        assert settings["prefetch_multiplier"] == 4  # the command line's, not the app's 1
        assert settings["prefetch_count"] == 8  # 4 x concurrency 2, as stats() shows it
        assert settings["mingle"] is True and settings["gossip"] is True  # stock defaults
        assert settings["acks_late"] is True  # the task's own setting, from worker/app.py
        assert "mingle on, gossip on" in done.stderr and "prefetch multiplier 4" in done.stderr
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
