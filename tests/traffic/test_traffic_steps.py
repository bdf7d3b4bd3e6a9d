"""One short step end to end: the local pools' child, and a Celery pool on a real Redis and workers."""

from __future__ import annotations

import json

import pytest
import redis

from producer import cli
from producer.traffic import document

STEP_FIELDS = {"offered", "achieved", "latency", "outstanding", "generator_lag", "verified", "timeline"}
LATENCY_FIELDS = {"p50", "p90", "p99", "p999", "max"}


@pytest.mark.redis
def test_one_short_step_through_local_and_celery_pools(tmp_path, capsys):
    """Embedded Redis and a celery-threads worker; every result verified; nothing left queued."""
    out = tmp_path / "load.json"
    argv = ["load", "--workload", "sleep", "--size", "5", "--rate", "60", "--duration", "2"]
    argv += ["--concurrency", "2", "--backends", "threads,processes,celery-threads", "--json", str(out)]
    assert cli.main(argv) == 0
    report = capsys.readouterr().out
    doc = json.loads(out.read_text())
    document.check(doc)
    assert doc["settings"]["rates"] == [60] and doc["settings"]["arrivals"] == "poisson"
    assert [r["name"] for r in doc["results"]] == ["threads", "processes", "celery-threads"]
    for result in doc["results"]:
        assert {"value", "low", "high"} <= set(result["capacity"])
        assert result["model"] in ("threads", "processes") and result["via"] in ("local", "broker")
        (step,) = result["steps"]
        assert STEP_FIELDS <= set(step) and LATENCY_FIELDS <= set(step["latency"])
        assert step["verified"]["ok"] and step["verified"]["lost"] == 0 and step["verified"]["doubled"] == 0
        assert step["sent"] >= 100 and step["latency"]["p50"] >= 0.005  # a 5 ms call at least
        assert step["verified"]["checked"] + step["verified"]["abandoned"] == step["sent"]
    assert "none lost or doubled" in report and "verdict" in report


@pytest.mark.redis
def test_attached_broker_leaves_no_task_behind(redis_url, workers, tmp_path, capsys):
    """With --broker: a saturated step's backlog is purged, and no message or result stays in Redis."""
    client = redis.Redis.from_url(redis_url)
    argv = ["load", "--workload", "sleep", "--size", "50", "--rate", "120", "--duration", "1"]
    argv += ["--backends", "celery-threads", "--broker", redis_url, "--json", str(tmp_path / "l.json")]
    assert cli.main(argv) == 0
    doc = json.loads((tmp_path / "l.json").read_text())
    (step,) = doc["results"][0]["steps"]
    assert step["verified"]["ok"] and not step["sustained"] and step["outstanding"] > 0
    assert client.llen("threads") == 0
    assert not [k for k in client.scan_iter("celery-task-meta-*")]
    assert not [k for k in client.scan_iter("poolbench:run:*")]
