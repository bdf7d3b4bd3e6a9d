"""Nobody gets in: the broker's password never shows in ``ps``, output, logs or the JSON.

The embedded Redis has a random password, read from a file only its owner can read;
the workers get the URL in their environment. Running workers are reached with
``--broker-env VAR`` or ``--broker-file PATH``, so the URL need not be in argv either.
(The compose stack's Redis password: tests/project/test_compose.py.)
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import redis

from producer.backends.celery.app import close_app, make_app
from tests.faults import PASSWORD, need_redis_server, private_redis, running_workers, wait_until
from tests.helpers import ROOT, assert_one_line_error, run_cli
from worker import protocol

pytestmark = pytest.mark.redis

SLOW = ["--workload", "sleep", "--size", "300", "--tasks", "4", "--concurrency", "2", "--repeat", "3"]
SLOW += ["--warmup", "0"]


def compare(*args: str, env: dict | None = None) -> subprocess.Popen:
    full_env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    full_env.update(env or {}, PYTHONPATH=str(ROOT))
    return subprocess.Popen(
        [sys.executable, "-m", "producer", "compare", *args],
        cwd=ROOT,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def command_lines_showing(secret: str) -> list[str]:
    """Every process's command line on this machine that shows the secret (what ``ps`` shows)."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if secret in cmdline:
            found.append(cmdline)
    return found


def children_running(producer: subprocess.Popen, needle: str) -> list[psutil.Process]:
    try:
        kids = psutil.Process(producer.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    found = []
    for kid in kids:
        try:
            if needle in " ".join(kid.cmdline()):
                found.append(kid)
        except psutil.Error:
            continue
    return found


def test_the_embedded_redis_password_shows_nowhere(tmp_path):
    need_redis_server()
    out = tmp_path / "out.json"
    producer = compare(*SLOW, "--backends", "sequential,celery-prefork,celery-threads", "--json", str(out))
    try:
        (server,) = wait_until(lambda: children_running(producer, "redis-server"), 60, "the embedded Redis")

        def config_in_its_folder() -> Path | None:
            """Read again each time: redis-server moves into the stack's folder itself (--dir)."""
            path = Path(server.cwd()) / "redis.conf"
            return path if path.exists() else None

        config = wait_until(config_in_its_folder, 10, "its config file, in the folder it runs in")
        assert stat.S_IMODE(config.stat().st_mode) == 0o600
        password = config.read_text().split("requirepass ", 1)[1].strip()
        assert len(password) >= 16
        wait_until(lambda: len(children_running(producer, "-m worker")) >= 2, 60, "the workers")
        time.sleep(2)  # into the batches
        assert command_lines_showing(password) == []
        for log in config.parent.glob("*.log"):
            assert password not in log.read_text(errors="replace"), log
        port = next(c.laddr.port for c in server.net_connections("tcp") if c.status == psutil.CONN_LISTEN)
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(host="127.0.0.1", port=int(port), socket_timeout=5).ping()
        stdout, stderr = producer.communicate(timeout=300)
    finally:
        if producer.poll() is None:
            producer.kill()
            producer.wait()
    assert producer.returncode == 0, stderr
    document = out.read_text()
    assert password not in stdout + stderr + document
    assert json.loads(document)["stack"]["broker"].startswith("redis://:***@127.0.0.1:")


@pytest.mark.parametrize("source", ["--broker-env", "--broker-file"])
def test_running_workers_are_reached_without_the_url_in_any_command_line(tmp_path, source):
    url_file = tmp_path / "broker-url"
    with private_redis(tmp_path) as server:
        url_file.write_text(server.url + "\n")
        url_file.chmod(0o600)
        flag = [source, "SECRET_BROKER" if source == "--broker-env" else str(url_file)]
        with running_workers(server.url, tmp_path, "threads"):
            producer = compare(*SLOW, "--backends", "sequential,celery-threads", *flag, "--json", "-",
                               env={"SECRET_BROKER": server.url})  # fmt: skip
            try:
                wait_until(lambda: server.keys() & {"threads", "unacked"}, 60, "queued tasks", step=0.01)
                assert command_lines_showing(PASSWORD) == []
                stdout, stderr = producer.communicate(timeout=300)
            finally:
                if producer.poll() is None:
                    producer.kill()
                    producer.wait()
    assert producer.returncode == 0, stderr
    assert PASSWORD not in stdout + stderr
    assert json.loads(stdout)["settings"]["broker"] == f"redis://:***@127.0.0.1:{server.port}/0"


def test_a_broker_file_others_can_read_is_refused_before_any_work(tmp_path):
    url_file = tmp_path / "broker-url"
    url_file.write_text(f"redis://:{PASSWORD}@127.0.0.1:1/0\n")
    url_file.chmod(0o644)
    proc = run_cli("compare", "--broker-file", str(url_file), timeout=30)
    assert_one_line_error(proc, 2, f"--broker-file {url_file}: other users can read its password")
    assert PASSWORD not in proc.stderr


def test_a_missing_broker_variable_is_a_usage_error():
    proc = run_cli("compare", "--broker-env", "NO_SUCH_VARIABLE_HERE", timeout=30)
    assert_one_line_error(proc, 2, "--broker-env NO_SUCH_VARIABLE_HERE: no such variable in the environment")


def test_a_pickled_message_is_refused_unread(redis_url, workers):
    """JSON only: a worker never unpickles what someone put on its queue."""
    refusal = "Refusing to deserialize untrusted content of type pickle"
    log = workers["prefork"].log
    before = log.read_text(errors="replace").count(refusal)
    app = make_app(redis_url)
    app.conf.update(task_serializer="pickle", accept_content=["pickle", "json"])
    task_id = f"pickled-{os.getpid()}-{time.monotonic_ns()}"
    try:
        app.send_task(protocol.TASK_NAME, args=["sleep", 0], queue="prefork", task_id=task_id)
        wait_until(
            lambda: log.read_text(errors="replace").count(refusal) > before, 30, "the worker's refusal"
        )
    finally:
        close_app(app)
    assert "The message has been ignored and discarded" in log.read_text(errors="replace")
    with redis.Redis.from_url(redis_url, socket_timeout=5) as client:
        assert client.get(f"celery-task-meta-{task_id}") is None  # never ran
        assert client.llen("prefork") == 0
