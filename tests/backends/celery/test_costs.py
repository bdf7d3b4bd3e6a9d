"""What each Celery task costs, on real Redis, real workers and real processes.

Embedded runs (the Python API, as a notebook would call it) check the breakdown, the
memory, --prefetch and --chunks; the session's Redis and workers check --no-result,
because only there can the test look at Redis after the batch. No timing is asserted:
only that each figure is present, ordered and of the processes it claims to be.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest
import redis

import workloads
from producer import backends, compare
from producer.errors import BatchTimeout
from producer.measure.verify import check_batch
from producer.settings import Settings
from tests.helpers import ROOT, after_preflight, assert_one_line_error, run_cli, wait_until
from worker.protocol import COMPLETION_PREFIX, RESULT_KEY_PREFIX, RUN_HEADER, run_key

pytestmark = pytest.mark.redis
PARTS = ("publish_s", "queue_wait_s", "dispatch_s", "run_s", "result_back_s", "slot_gap_s")


@pytest.fixture(scope="module")
def embedded_run():
    """Threads, processes and two Celery pools, with the workers asked for prefetch 3."""
    return compare(
        "sleep",
        size=1,
        tasks=6,
        concurrency=2,
        repeat=2,
        warmup=0,
        timeout=60,
        backends=["threads", "processes", "celery-prefork", "celery-threads"],
        prefetch=3,
    )


def test_breakdown_of_every_celery_task_is_present_and_ordered(embedded_run):
    assert embedded_run.ok
    for name in ("celery-prefork", "celery-threads"):
        result = embedded_run.result(name)
        b = result["breakdown"]
        assert set(PARTS) <= set(b)
        assert b["run_s"]["n"] == b["calls"] == 6 * 2
        assert b["publish_s"]["n"] == b["messages"] == 6 * 2
        assert b["clock"] == "one host" and b["hosts"] == [embedded_run["machine"]["hostname"]]
        for part in PARTS:
            assert b[part]["q1"] <= b[part]["median"] <= b[part]["q3"] and b[part]["p90"] >= b[part]["median"]
        for r in result["rounds"]:
            for t in r["tasks"]:
                assert t["sent"] <= t["received"] <= t["started"] <= t["ended"] <= t["collected"]
                assert 0 < t["publish_s"] < t["collected"] - t["sent"]
    assert "breakdown" not in embedded_run.result("threads")  # local backends send nothing


def test_memory_of_each_backend_is_of_its_own_processes(embedded_run):
    doc = embedded_run
    threads = doc.result("threads")["memory"]
    # the threads backend is one child process of the producer, with its threads inside
    assert threads["processes"] == 1 and threads["per_process"][0]["pid"] != os.getpid()
    processes = doc.result("processes")["memory"]
    assert processes["processes"] == 2 and os.getpid() not in {p["pid"] for p in processes["per_process"]}
    fleet = doc["stack"]["workers"]
    for pool, children in (("prefork", 2), ("threads", 0)):
        m = doc.result(f"celery-{pool}")["memory"]
        roots = [p["pid"] for p in m["per_process"] if p["role"] == "root"]
        assert roots == [fleet[pool][0]["pid"]]  # the embedded worker the stack started
        assert m["processes"] == 1 + children
    for r in doc["results"]:
        m = r["memory"]
        assert m["peak_rss_bytes"] >= 10 * 2**20  # a Python process at least
        assert m["peak_rss_per_batch"]["n"] == 2 and m["peak_rss_per_batch"]["max"] == m["peak_rss_bytes"]
        if m["peak_uss_bytes"] is not None:
            assert 0 < m["peak_uss_bytes"] <= m["peak_rss_bytes"]
        assert all(r_["memory"]["peak_rss_bytes"] for r_ in r["rounds"])
    text = doc.report(wide=True, width=200, verbose=2)
    assert "peak RSS" in text and "memory at concurrency 2" in text


def test_prefetch_is_the_value_the_workers_report(embedded_run):
    assert embedded_run["settings"]["prefetch"] == 3
    for name in ("celery-prefork", "celery-threads"):
        settings = embedded_run.result(name)["settings"]
        assert settings["prefetch_multiplier"] == 3
        assert settings["prefetch_count"] == 3 * 2  # multiplier x concurrency, live from the consumer
    assert "prefetch multiplier 3 (prefetch count 6)" in embedded_run.report(width=200, verbose=1)


def test_chunks_verify_every_index_once():
    run = compare("squares", size=2000, tasks=7, concurrency=2, repeat=2, warmup=0, timeout=60,
                  backends=["celery-prefork", "celery-solo"], chunks=3)  # fmt: skip
    assert run.ok and run["settings"]["chunks"] == 3
    expected = workloads.run_task("squares", 2000)["summary"]
    for name in ("celery-prefork", "celery-solo"):
        result = run.result(name)
        assert result["checksum"] == run.result("sequential")["checksum"]
        for r in result["rounds"]:
            assert [t["index"] for t in r["tasks"]] == list(range(7))
            by_message = {}
            for t in r["tasks"]:
                by_message.setdefault(t["message"], []).append(t["index"])
            assert by_message == {0: [0, 1, 2], 1: [3, 4, 5], 2: [6]}
        b = result["breakdown"]
        assert (b["messages"], b["calls"]) == (3 * 2, 7 * 2)
        assert b["publish_s"]["n"] == 3 * 2 and b["run_s"]["n"] == 7 * 2
    assert expected["count"] == 2000


def test_a_failing_call_fails_its_whole_chunk_index_by_index(tmp_path):
    (tmp_path / "boom.py").write_text(after_preflight("raise ValueError(f'no good at size {size}')"))
    run = compare(f"{tmp_path / 'boom.py'}:f", size=3, tasks=4, concurrency=2, repeat=1, warmup=0, timeout=60,
                  backends=["celery-prefork"], chunks=2)  # fmt: skip
    problems = run.result("celery-prefork")["problems"]
    assert not run.ok
    for index in range(4):
        assert f"task {index} raised ValueError: no good at size 3" in problems


def test_embedded_no_result_with_chunks_completes_and_verifies():
    run = compare("squares", size=1000, tasks=5, concurrency=2, repeat=1, warmup=0, timeout=60,
                  backends=["celery-threads"], chunks=2, no_result=True)  # fmt: skip
    assert run.ok and run["settings"]["no_result"] is True
    b = run.result("celery-threads")["breakdown"]
    assert "result_back_s" not in b and b["messages"] == 3
    assert "result back: none (--no-result)" in run.report(width=300, verbose=2)


def _no_result_backend(redis_url: str, pool: str, **changes):
    settings = Settings(broker_url=redis_url, timeout=60, worker_timeout=10, concurrency=2, no_result=True)
    return backends.create(f"celery-{pool}", settings.replace(**changes))


def _leftovers(client) -> list:
    return list(client.scan_iter(f"{COMPLETION_PREFIX}*")) + list(client.scan_iter("celery-task-meta-*"))


@pytest.mark.parametrize("chunks", [1, 3])
def test_no_result_verifies_every_task_and_leaves_no_key(redis_url, workers, chunks):
    client = redis.Redis.from_url(redis_url)
    before = set(_leftovers(client))
    expected = [workloads.run_task("squares", 300)["summary"]] * 5
    for pool in ("prefork", "threads"):
        with _no_result_backend(redis_url, pool, chunks=chunks) as backend:
            records = backend.run_batch("squares", 300, 5)
        summaries, problems = check_batch(records, 5, expected)
        assert problems == [] and summaries == expected
        assert all("collected" not in t and t["sent"] <= t["received"] <= t["started"] for t in records)
        assert {t["worker"] for t in records} == {workers[pool].node}
    assert set(_leftovers(client)) - before == set()


def test_no_result_reports_failures_instead_of_waiting_for_them(redis_url, workers, user_specs):
    client = redis.Redis.from_url(redis_url)
    before = set(_leftovers(client))
    with _no_result_backend(redis_url, "prefork", timeout=30) as backend:
        records = backend.run_batch(user_specs["boom"], 3, 3)
    assert sorted(t["index"] for t in records) == [0, 1, 2]
    assert all(t["error"] == {"type": "ValueError", "message": "no good at size 3"} for t in records)
    assert set(_leftovers(client)) - before == set()


def test_no_result_chunk_reports_the_calls_a_failure_stopped(redis_url, workers, user_specs):
    """Celery's chunks stop at the first failing call: the calls after it are reported, not awaited."""
    client = redis.Redis.from_url(redis_url)
    before = set(_leftovers(client))
    with _no_result_backend(redis_url, "prefork", chunks=2, timeout=30) as backend:
        records = sorted(backend.run_batch(user_specs["boom"], 3, 4), key=lambda t: t["index"])
    assert [t["index"] for t in records] == [0, 1, 2, 3]
    assert [t["error"]["type"] for t in records] == ["ValueError", "NotRun"] * 2
    assert [t["message"] for t in records] == [0, 0, 1, 1]
    assert set(_leftovers(client)) - before == set()


def test_no_result_after_a_timeout_leaves_no_key_even_when_the_tasks_end_later(redis_url, workers):
    client = redis.Redis.from_url(redis_url)
    before = set(_leftovers(client))
    with _no_result_backend(redis_url, "threads", timeout=0.3) as backend:
        with pytest.raises(BatchTimeout):
            backend.run_batch("sleep", 1500, 2)  # both slots busy past the deadline
    with _no_result_backend(redis_url, "threads") as backend:
        records = backend.run_batch("sleep", 0, 2)  # queued behind the late ones: they have ended
    assert check_batch(records, 2, None)[1] == []
    left = set(_leftovers(client)) - before
    assert left == set(), [
        client.get(k) for k in left if b"meta" in k
    ]  # the late tasks found their batch closed


def test_memory_of_workers_reached_via_broker_is_unknown_not_zero(redis_url, workers, tmp_path):
    out = tmp_path / "remote.json"
    proc = run_cli("compare", "--broker", redis_url, "--backends", "celery-threads", "--workload", "sleep",
                   "--size", "1", "--tasks", "2", "--concurrency", "2", "--repeat", "1", "--warmup", "0",
                   "--wide", "--json", str(out), timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    result = {r["backend"]: r for r in json.loads(out.read_text())["results"]}["celery-threads"]
    assert result["memory"]["peak_rss_bytes"] is None
    assert "--broker" in result["memory"]["unknown"]
    rows = proc.stdout.splitlines()  # its name is starred when its rounds were unstable
    row = next(line for line in rows if line.split()[:1] in (["celery-threads"], ["celery-threads*"]))
    assert row.split()[-3:] == ["unknown", "unknown", "yes"]  # peak RSS, peak USS, verified


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--chunks", "0"], "--chunks must be between 1 and --tasks (10), not 0"),
        (["--chunks", "11"], "--chunks must be between 1 and --tasks (10), not 11"),
        (["--prefetch", "0"], "--prefetch must be between 1 and 1,000"),
        (["--backends", "threads", "--no-result"], "--no-result apply to Celery backends"),
        (["--prefetch", "4", "--broker", "redis://127.0.0.1:1/0"], "python -m worker --prefetch-multiplier"),
    ],
)
def test_bad_cost_flags_are_one_line_errors(args, needle):
    assert_one_line_error(run_cli("compare", *args), 2, needle)


def _keys_of_runs(client) -> set:
    """Every key a batch or a run may leave: results, --no-result's, run keys and deliveries."""
    patterns = (f"{COMPLETION_PREFIX}*", f"{RESULT_KEY_PREFIX}*", run_key("*"))
    return {key for pattern in patterns for key in client.scan_iter(pattern)}


def _messages_of_other_runs(client, queue: str, before_runs: set) -> list:
    """Messages on ``queue`` or in ``unacked`` whose run is not one of ``before_runs``."""
    found = []
    for raw in client.lrange(queue, 0, -1):
        found.append(json.loads(raw)["headers"].get(RUN_HEADER))
    for _, raw in client.hscan_iter("unacked"):
        found.append(json.loads(raw)[0]["headers"].get(RUN_HEADER))
    return [run for run in found if run not in before_runs]


@pytest.mark.parametrize("chunks", [1, 2])
def test_no_result_batch_stopped_by_sigterm_in_broker_mode_leaves_no_key_of_its_run(
    redis_url, workers, chunks
):
    """The batch's run ends with it: its messages are purged, its running tasks store nothing,
    and no REVOKED state is written after the fact (nothing is revoked)."""
    client = redis.Redis.from_url(redis_url)
    before = _keys_of_runs(client)
    runs_before = set(_messages_of_other_runs(client, "threads", set()))
    producer = subprocess.Popen(
        [sys.executable, "-m", "producer", "compare", "--broker", redis_url, "--backends", "celery-threads",
         "--no-result", "--chunks", str(chunks), "--workload", "sleep", "--size", "700", "--tasks", "8",
         "--concurrency", "2", "--repeat", "3", "--warmup", "0", "--no-progress"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        env={**{k: v for k, v in os.environ.items() if k != "REDIS_URL"}, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    try:
        assert wait_until(lambda: any(client.scan_iter(f"{COMPLETION_PREFIX}*")), 120), "no batch began"
        producer.send_signal(signal.SIGTERM)
        _, stderr = producer.communicate(timeout=60)
    finally:
        if producer.poll() is None:
            producer.kill()
            producer.wait(10)
    assert producer.returncode == 143, stderr
    assert stderr.strip().splitlines()[-1].startswith("poolbench: interrupted (SIGTERM)")
    # The run's messages are gone at once; the tasks it left running end within a slot's time:
    # a batch behind them on the same two slots completes only once both have ended.
    assert _messages_of_other_runs(client, "threads", runs_before) == []
    with _no_result_backend(redis_url, "threads") as backend:
        assert check_batch(backend.run_batch("sleep", 0, 2), 2, None)[1] == []
    assert _keys_of_runs(client) - before == set()
