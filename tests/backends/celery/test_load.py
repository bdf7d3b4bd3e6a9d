"""Many tiny tasks through each Celery pool: each arrives exactly once, the producer's peak
memory is reported, and the run leaves nothing of its own in Redis.

The 10,000-task run is ``bench/load_10k.py``; its figures are in docs/BENCHMARKS.md.
"""

from __future__ import annotations

import json
import os

import pytest

from tests.conftest import HAVE_GEVENT
from tests.faults import PASSWORD, private_redis, running_workers
from tests.helpers import run_cli

pytestmark = pytest.mark.redis
TASKS = 300
POOLS = {"prefork": 2, "threads": 4, "solo": 1, "gevent": 50}
"""Worker concurrency per pool: gevent only keeps up with slots to spare (see its caveat)."""


@pytest.mark.parametrize("pool", POOLS)
def test_hundreds_of_tiny_tasks_arrive_once_and_leave_nothing_behind(tmp_path, pool):
    if pool == "gevent" and not HAVE_GEVENT:
        pytest.skip("gevent is not installed")
    concurrency = str(POOLS[pool])
    out = tmp_path / "out.json"
    with private_redis(tmp_path) as server:
        with running_workers(server.url, tmp_path, pool, args=["--concurrency", concurrency]):
            before = server.keys()
            args = ["--workload", "sleep", "--size", "0", "--tasks", str(TASKS), "--repeat", "2"]
            args += ["--warmup", "0", "--concurrency", concurrency, "--backends", f"sequential,celery-{pool}"]
            proc = run_cli(
                "compare", *args, "--broker-env", "LOAD_BROKER", "--json", str(out),
                env={"LOAD_BROKER": server.url}, timeout=600,
            )  # fmt: skip
            assert proc.returncode == 0, proc.stderr
            left = server.leftovers() - {key for key in before if not key.startswith("_kombu.")}
            assert left == set(), left  # no queue, unacked entry, result or run key of ours
    doc = json.loads(out.read_text())
    result = doc["results"][1]
    assert doc["ok"] and result["ok"] and result["checksum"] == doc["results"][0]["checksum"]
    # each round's records were verified one by one (none lost, none twice) and let go (schema 4)
    assert [batch["task_count"] for batch in result["rounds"]] == [TASKS, TASKS]
    assert result["tasks"]["verified"] == 2 * TASKS
    assert {task["delivery"] for task in result["tasks"]["sample"]["tasks"]} == {1}
    assert result["settings"]["faults"]["incident_count"] == 0
    assert not [caveat for caveat in result["caveats"] if "faults during the run" in caveat]
    assert doc["producer"]["peak_rss_bytes"] > 10 * 2**20 and doc["producer"]["pid"] != os.getpid()
    assert PASSWORD not in out.read_text() + proc.stdout + proc.stderr
