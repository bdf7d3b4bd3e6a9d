"""--broker with --python: the running workers are measured once and show in every group they serve."""

from __future__ import annotations

import json

import pytest

from tests.helpers import run_cli


@pytest.mark.redis
def test_running_workers_show_in_every_group(redis_url, workers, free_threaded):
    args = ["--workload", "sleep", "--size", "30", "--tasks", "2", "--concurrency", "2"]
    proc = run_cli(
        "compare", "--broker", redis_url, "--python", free_threaded.executable, *args,
        "--repeat", "2", "--warmup", "0", "--backends", "sequential,celery-solo", "--json", "-",
        timeout=180,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    here, free = doc["pythons"]
    row = f"celery-solo [{here['label']}]"
    assert [r["backend"] for r in doc["results"]] == [
        f"sequential [{here['label']}]",
        row,
        f"sequential [{free['label']}]",
    ]
    assert here["rows"] == [f"sequential [{here['label']}]", row] and here["served"] == []
    assert free["rows"] == [f"sequential [{free['label']}]", row] and free["served"] == [row]
    assert free["skipped"] == []
    assert doc["stack"]["embedded"] is False
