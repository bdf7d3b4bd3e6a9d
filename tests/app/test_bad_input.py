"""Bad values and misbehaving workloads through the real CLI: one line, a named exit code, no traceback."""

from __future__ import annotations

import json

import pytest

from producer.errors import EXIT_FAILED, EXIT_TIMEOUT, EXIT_USAGE
from tests.helpers import HANGS_AFTER_PREFLIGHT, after_preflight, assert_one_line_error, run_cli

LOCAL = ["--backends", "sequential,threads,processes", "--tasks", "3", "--concurrency", "2"]
QUICK = [*LOCAL, "--repeat", "1", "--warmup", "0"]
SECONDS_FLAGS = ["--timeout", "--worker-timeout", "--startup-timeout"]


@pytest.mark.parametrize("flag", SECONDS_FLAGS)
@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "Infinity", "1e300", "604801", "0", "-0.5", "-1e-9"])
def test_seconds_must_be_finite_positive_and_at_most_a_week(flag, value):
    proc = run_cli("compare", f"{flag}={value}", timeout=30)
    assert_one_line_error(proc, EXIT_USAGE, flag)
    assert "must be positive and finite" in proc.stderr


@pytest.mark.parametrize("value", ["0", "15", "-1", "99999999999", "lots"])
def test_the_memory_limit_is_a_whole_number_of_mib_in_range(value):
    assert_one_line_error(
        run_cli("compare", "--memory-limit", value, timeout=30), EXIT_USAGE, "--memory-limit"
    )


@pytest.mark.parametrize(
    "source, needle",
    [
        ("import sys\nsys.exit(3)\n", "it called sys.exit(3) when imported"),
        ("raise SystemExit('bye')\n", "it called sys.exit('bye') when imported"),
        ("raise ValueError('bad config')\n", "ValueError: bad config"),
    ],
)
def test_a_workload_file_that_fails_its_import_is_a_workload_error(tmp_path, source, needle):
    (tmp_path / "mine.py").write_text(source + "\ndef f(size):\n    return size\n")
    assert_one_line_error(run_cli("compare", "--workload", "mine.py:f", cwd=tmp_path), EXIT_USAGE, needle)
    assert_one_line_error(run_cli("compare", "--workload", "mine:f", cwd=tmp_path), EXIT_USAGE, needle)


def test_a_size_whose_first_call_would_exhaust_memory_is_stopped_by_the_guard():
    proc = run_cli("compare", "--size", "10000000000", "--memory-limit", "200", *QUICK, timeout=120)
    assert_one_line_error(
        proc, EXIT_USAGE, "one call at size 10,000,000,000 grew memory past", "lower --size"
    )
    assert proc.stdout == ""


def test_a_first_call_that_never_returns_is_stopped_at_its_preflight(tmp_path):
    (tmp_path / "hangs.py").write_text(
        "import time\ndef f(size):\n    while True:\n        time.sleep(0.01)\n"
    )
    proc = run_cli("compare", "--workload", "hangs.py:f", "--timeout", "1", *QUICK, cwd=tmp_path)
    assert_one_line_error(proc, EXIT_USAGE, "took longer than --timeout 1 s during preflight")


def test_a_task_that_never_returns_is_exit_5_naming_the_running_tasks(tmp_path):
    (tmp_path / "hangs.py").write_text(HANGS_AFTER_PREFLIGHT)
    proc = run_cli(
        "compare",
        "--workload",
        "hangs.py:hangs",
        "--size",
        "1",
        "--timeout",
        "1",
        *QUICK,
        "--json",
        "-",
        cwd=tmp_path,
    )
    assert proc.returncode == EXIT_TIMEOUT, proc.stderr
    results = json.loads(proc.stdout)["results"]
    assert results[0]["timed_out"] and results[0]["problems"] == [
        "sequential: batch overran --timeout 1 s with 0 of 3 tasks completed; "
        "still running, and stopped: task 0"
    ]
    for result in results[1:]:  # nothing to compare with: not run, not waited for
        assert result["problems"] == ["not run: the sequential baseline overran --timeout in its first batch"]
    assert "Traceback" not in proc.stderr


def test_a_task_that_kills_its_process_is_reported_and_the_producer_lives(tmp_path):
    (tmp_path / "dies.py").write_text(after_preflight("os._exit(1)"))
    proc = run_cli("compare", "--workload", "dies.py:f", "--size", "1", *QUICK, "--json", "-", cwd=tmp_path)
    assert proc.returncode == EXIT_FAILED, proc.stderr
    doc = json.loads(proc.stdout)
    for result in doc["results"]:
        problems = result["problems"]
        assert any(p.startswith("task 0 killed its process (exit code 1)") for p in problems), problems
    assert "Traceback" not in proc.stderr and "killed its process" in proc.stderr


def test_the_scripted_backend_is_listed_apart_and_runs_honestly():
    listing = run_cli("list").stdout
    assert listing.index("for tests") < listing.index("  scripted ")
    proc = run_cli("compare", "--workload", "sleep", "--size", "1", "--backends", "scripted", "--json", "-")
    assert proc.returncode == 0, proc.stderr
    assert [r["backend"] for r in json.loads(proc.stdout)["results"]] == ["sequential", "scripted"]
