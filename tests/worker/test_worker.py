"""The worker as users start it: ``python -m worker`` and the stock ``celery -A worker`` CLI."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys

import pytest

import workloads
from producer.backends.celery.app import close_app, failure_of, make_app
from producer.backends.celery.results import decode, result_key
from tests.conftest import celery_cli, worker_env
from tests.helpers import ROOT

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def run_worker_cli(*args: str, env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "worker", *args],
        cwd=ROOT,
        env=env or worker_env("redis://127.0.0.1:1/0"),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def assert_usage_error(result: subprocess.CompletedProcess, *phrases: str) -> None:
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for phrase in phrases:
        assert phrase in result.stderr


@pytest.mark.parametrize(
    ("args", "phrases"),
    [
        (["--pool", "forkserver"], ["--pool", "invalid choice: 'forkserver'"]),
        (["--pool", "prefork", "--concurrency", "0"], ["--concurrency", "at least 1"]),
        (["--pool", "threads", "--loglevel", "loud"], ["--loglevel"]),
        (["--concurrency", "2"], ["--pool"]),
        (["--pool", "solo", "--allow", "/nonexistent/w.py:f"], ["/nonexistent/w.py", "does not exist"]),
    ],
)
def test_bad_flags_are_one_line_and_exit_2(args, phrases):
    assert_usage_error(run_worker_cli(*args), *phrases)


def test_bad_worker_concurrency_env_is_one_line():
    env = worker_env("redis://127.0.0.1:1/0", WORKER_CONCURRENCY="many")
    assert_usage_error(run_worker_cli("--pool", "prefork", env=env), "WORKER_CONCURRENCY", "'many'")


def test_gevent_pool_without_gevent_says_how_to_install_it(tmp_path):
    fake = tmp_path / "gevent"
    fake.mkdir()
    (fake / "__init__.py").write_text("raise ImportError('No module named gevent')\n")
    env = worker_env("redis://127.0.0.1:1/0")
    env["PYTHONPATH"] = f"{tmp_path}:{env['PYTHONPATH']}"
    assert_usage_error(run_worker_cli("--pool", "gevent", env=env), "pip install 'poolbench[gevent]'")


def test_help_lists_the_pools():
    result = run_worker_cli("--help")
    assert result.returncode == 0
    assert "prefork,threads,solo,gevent" in result.stdout.replace(" ", "")


@pytest.mark.redis
def test_default_node_names_are_unique_per_replica_and_written_to_the_file(workers):
    pattern = re.compile(rf"^(prefork|threads|solo|gevent)-[0-9a-f]{{8}}@{re.escape(socket.gethostname())}$")
    nodes = [process.node for process in workers.values()]
    assert all(pattern.match(node) for node in nodes), nodes
    assert len(set(nodes)) == len(nodes)
    assert {node.split("-")[0] for node in nodes} == set(workers)


@pytest.mark.redis
def test_stock_celery_inspect_ping_reaches_a_python_m_worker(redis_url, workers):
    node = workers["prefork"].node
    result = stock_celery(redis_url, "inspect", "ping", "-d", node, "--json", "--timeout", "5")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {node: {"ok": "pong"}}


def stock_celery(redis_url: str, *args: str) -> subprocess.CompletedProcess:
    """``celery -A worker ARGS`` as a user types it, against the session's Redis."""
    return subprocess.run(
        [*celery_cli(), "-A", "worker", *args],
        cwd=ROOT,
        env=worker_env(redis_url),
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def app(redis_url):
    """A producer-side Celery app, as the Celery backend makes it, plus a result backend."""
    app = make_app(redis_url)
    app.conf.result_backend = redis_url  # the backend reads results itself; a user's client has one
    yield app
    close_app(app)


@pytest.mark.redis
def test_stock_celery_call_runs_the_task_with_the_local_checksum(redis_url, workers, app):
    result = stock_celery(
        redis_url, "call", "worker.run_workload", "--args", '["squares", 1000]', "--queue", "prefork"
    )
    assert result.returncode == 0, result.stderr
    async_result = app.AsyncResult(result.stdout.strip())
    record = async_result.get(timeout=30)
    async_result.forget()
    assert record["summary"] == workloads.run_task("squares", 1000)["summary"]
    assert record["worker"] == workers["prefork"].node


@pytest.mark.redis
def test_allow_list_from_env_reaches_prefork_children(workers, user_specs, app):
    """WORKLOAD_MODULES allowed ``triples`` on the prefork worker: a pool child runs it."""
    result = app.send_task("worker.run_workload", args=[user_specs["triples"], 100], queue="prefork")
    record = result.get(timeout=30)
    result.forget()
    assert record["summary"] == workloads.run_task(user_specs["triples"], 100)["summary"]
    assert record["pid"] != workers["prefork"].proc.pid


@pytest.mark.redis
def test_a_workload_not_allowed_fails_the_task_with_a_hint(workers, user_specs, app):
    spec = user_specs["refused"]
    result = app.send_task("worker.run_workload", args=[spec, 1], queue="prefork")
    result.get(timeout=30, propagate=False)
    assert result.state == "FAILURE"
    stored = decode(app.backend.client.get(result_key(result.id)))  # as the producer reads it
    result.forget()
    error = failure_of(stored["result"])
    assert error["type"] == "WorkloadNotAllowed"
    assert error["message"] == (
        f"workload '{spec}' is not allowed on this worker; start it with --allow {spec} "
        f"or WORKLOAD_MODULES={spec}"
    )
