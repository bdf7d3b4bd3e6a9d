"""``python -m producer compare`` with Celery backends, run as a user runs it.

Embedded runs start their own Redis and workers; the rest use the session's Redis.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

import workloads
from producer.services.redis import mask_url
from tests.helpers import ORIGINAL, ROOT, assert_one_line_error, run_cli

pytestmark = pytest.mark.redis

SMALL = ["--size", "20000", "--tasks", "4", "--concurrency", "2", "--repeat", "2", "--warmup", "1"]


def processes_using(port: int) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if f":{port}/" in cmdline or f"--port {port}" in cmdline or f"127.0.0.1:{port}" in cmdline:
            found.append(proc)
    return found


def test_embedded_compare_verifies_every_backend_and_stops_its_stack(tmp_path):
    out = tmp_path / "out.json"
    proc = run_cli(
        "compare",
        "-v",  # the stack's line (embedded Redis, its workers) is a detail of -v
        "--workload",
        "squares",
        *SMALL,
        "--json",
        str(out),
        "--backends",
        "sequential,threads,celery-prefork,celery-threads",
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text())
    assert doc["ok"] and len({r["checksum"] for r in doc["results"]}) == 1
    assert doc["stack"]["embedded"] is True and doc["stack"]["startup_s"] > 0
    celery = {r["backend"]: r for r in doc["results"] if r["backend"].startswith("celery-")}
    assert set(celery) == {"celery-prefork", "celery-threads"}
    for result in celery.values():
        assert result["settings"]["workers"] == 1 and result["concurrency"] == 2
        assert result["settings"]["prefetch_multiplier"] == 1 and result["settings"]["acks_late"] is True
        tasks = [t for r in result["rounds"] if not r["warmup"] for t in r["tasks"]]
        assert len(tasks) == 4 * 2 and all(t["sent"] <= t["received"] <= t["started"] for t in tasks)
        assert {t["worker"] for t in tasks} == set(result["settings"]["nodes"])
        assert result["queue_wait_s"]["n"] == 8
    port = int(doc["stack"]["broker"].rsplit(":", 1)[1].split("/")[0])
    assert processes_using(port) == []
    assert "celery-prefork" in proc.stdout and "embedded Redis" in proc.stdout


def test_embedded_workers_are_allowed_the_users_file(tmp_path):
    path = tmp_path / "mine.py"
    path.write_text(ORIGINAL)
    proc = run_cli(
        "compare",
        "--workload",
        f"{path}:do_something",
        *SMALL,
        "--json",
        "-",
        "--backends",
        "sequential,celery-prefork",
        "--workers",
        "prefork=2",
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    prefork = doc["results"][1]
    assert prefork["ok"] and prefork["settings"]["workers"] == 2
    assert doc["results"][0]["checksum"] == prefork["checksum"]
    assert doc["workload"]["spec"] == workloads.canonical(f"{path}:do_something")


def test_an_unreachable_broker_is_one_line_exit_3():
    proc = run_cli("compare", "--broker", "redis://:hunter2@127.0.0.1:1/0", timeout=10)
    assert_one_line_error(proc, 3, "127.0.0.1:1", "cannot reach Redis")
    assert "hunter2" not in proc.stderr


def test_redis_url_from_the_environment_is_used():
    proc = run_cli(
        "compare", "--backends", "celery-solo", env={"REDIS_URL": "redis://127.0.0.1:1/0"}, timeout=10
    )
    assert_one_line_error(proc, 3, "127.0.0.1:1")


def test_no_worker_on_a_queue_is_one_line_exit_4(redis_url):
    empty_db = redis_url.rsplit("/", 1)[0] + "/9"  # no worker listens on this database
    proc = run_cli(
        "compare", "--broker", empty_db, "--backends", "celery-solo", "--worker-timeout", "1", timeout=30
    )
    assert_one_line_error(proc, 4, "no worker consumes queue 'solo'", "python -m worker --pool solo")


def _cmdline(proc: psutil.Process) -> str:
    try:
        return " ".join(proc.cmdline())
    except psutil.Error:  # ended, or a zombie, while we looked
        return ""


def test_ctrl_c_during_an_embedded_run_leaves_no_process_behind():
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env["PYTHONPATH"] = str(ROOT)
    producer = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "producer",
            "compare",
            "--workload",
            "sleep",
            "--size",
            "200",
            "--tasks",
            "6",
            "--concurrency",
            "2",
            "--repeat",
            "100",
            "--backends",
            "sequential,processes,celery-prefork,celery-threads",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    seen: dict[int, psutil.Process] = {}
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            for child in psutil.Process(producer.pid).children(recursive=True):
                seen.setdefault(child.pid, child)
            names = " ".join(_cmdline(p) for p in seen.values())
            # Redis, two worker mains, two prefork children, two pool processes
            if "redis-server" in names and names.count("-m worker") >= 2 and len(seen) >= 7:
                break
            time.sleep(0.2)
        else:
            pytest.fail(f"the embedded stack did not come up; saw {len(seen)} processes")
        time.sleep(2)  # inside the measured rounds by now
        producer.send_signal(signal.SIGINT)
        _, stderr = producer.communicate(timeout=60)
    finally:
        if producer.poll() is None:
            producer.kill()
    assert producer.returncode == 130, stderr
    assert "interrupted" in stderr.strip().splitlines()[-1] and "Traceback" not in stderr
    gone, alive = psutil.wait_procs(list(seen.values()), timeout=10)
    assert alive == [], [p.cmdline() for p in alive]


def test_running_workers_via_broker_are_counted_and_measured_by_their_tasks(redis_url, workers):
    proc = run_cli(
        "compare",
        "-v",  # the running workers' line is a detail of -v
        "--broker",
        redis_url,
        "--workload",
        "squares",
        *SMALL,
        "--size",
        "1000000",  # long enough a batch for CPU/wall (the last --size wins)
        "--json",
        "-",
        "--backends",
        "sequential,celery-prefork,celery-threads",
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["ok"] and doc["stack"]["embedded"] is False
    for result in doc["results"][1:]:
        pool = result["pool"]
        assert list(result["settings"]["nodes"]) == [workers[pool].node]
        assert result["cpu_source"] == "tasks" and result["cpu_util"]["median"] > 0
        assert result["settings"]["interpreter"] == workloads.interpreter()
        assert result["python"]["gil_enabled"] == workloads.interpreter()["gil_enabled"]
    assert doc["results"][0]["cpu_source"] == "process-tree"
    assert "ᵗ" in proc.stderr and "running workers via" in proc.stderr


def test_a_stack_that_cannot_start_in_time_is_one_line_exit_6():
    proc = run_cli("compare", "--backends", "celery-prefork", "--startup-timeout", "0.05", timeout=60)
    assert_one_line_error(proc, 6, "did not answer")


def test_workers_selected_by_redis_url_are_named_on_the_first_line(redis_url, workers):
    args = ["--workload", "sleep", "--size", "1", "--tasks", "2", "--repeat", "1", "--warmup", "0"]
    proc = run_cli("compare", *args, "--backends", "celery-solo", env={"REDIS_URL": redis_url}, timeout=60)
    assert proc.returncode == 0, proc.stderr
    masked = mask_url(redis_url)  # the session's Redis has a password: never printed
    assert proc.stdout.startswith(f"using running workers via $REDIS_URL ({masked})"), proc.stdout[:200]
