"""A distributed family is a plug-in: the scripted family goes through a whole session, a sweep
and ``--python`` with nothing in them naming it; the registry declares ``via`` without imports."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from producer import plan, session, sweep
from producer.backends import family as families
from producer.backends import scripted_family
from producer.errors import UsageError
from producer.settings import Settings
from tests.helpers import ROOT

SMALL = Settings(workload="squares", size=200, tasks=4, concurrency=2, repeat=2, warmup=0, timeout=60)


def test_a_session_runs_a_family_it_does_not_know_by_name():
    before = len(scripted_family.LEDGER)
    doc = session.run(SMALL.replace(backends=("sequential", "scripted-family")).check())
    base, row = doc["results"]
    assert doc["ok"] and row["ok"], row["problems"]
    assert (row["family"], row["via"], row["model"], row["shares_gil"]) == (
        "scripted-family",
        "broker",
        "threads",
        True,
    )
    assert row["settings"] == {"queue": "scripted-family-here-c2-w1", "workers": 1}
    assert doc["stack"]["broker"].startswith("scripted://")
    assert doc["stack"]["queues"] == ["scripted-family-here-c2-w1"]
    events = scripted_family.LEDGER[before:]
    assert [e for e, _ in events] == ["started", "stopped"] and events[0][1] == events[1][1]  # cleaned up
    assert scripted_family._QUEUES == {}
    json.dumps(doc)


def test_a_sweep_plans_each_point_with_its_own_workers_and_reads_them_from_the_row():
    settings = SMALL.replace(backends=("sequential", "threads", "scripted-family"))
    planned = sweep.plan(settings, [1, 2], [1, 3])
    shown = [(r.label, r.concurrency, r.workers) for r in planned.rows]
    assert shown == [
        ("sequential", 2, None),
        ("threads c=1", 1, None),
        ("threads c=2", 2, None),
        ("scripted-family c=1 w=1", 1, 1),
        ("scripted-family c=1 w=3", 1, 3),
        ("scripted-family c=2 w=1", 2, 1),
        ("scripted-family c=2 w=3", 2, 3),
    ]
    doc = session.run_plan(planned)
    assert doc["ok"], [r["problems"] for r in doc["results"]]
    points = doc["sweep"]["series"]["scripted-family"]
    assert [(p["concurrency"], p["workers"]) for p in points] == [(1, 1), (1, 3), (2, 1), (2, 3)]
    assert doc["verdict"]["notes"][0].startswith("The verdict reads the points at concurrency")


def test_a_sweep_refuses_running_workers_of_any_distributed_family():
    settings = SMALL.replace(backends=("sequential", "scripted-family"), broker_url="scripted://x")
    with pytest.raises(UsageError, match="sweep starts scripted-family workers of its own"):
        sweep.plan(settings, [1, 2], [1])


def test_a_family_checks_its_own_settings_before_any_work():
    with pytest.raises(UsageError, match="scripted-family has no broker to attach to"):
        SMALL.replace(backends=("sequential", "scripted-family"), broker_url="redis://127.0.0.1:1/0").check()


def test_an_unknown_family_is_a_one_line_usage_error():
    with pytest.raises(UsageError, match="no such backend family: 'rq'"):
        families.family("rq")


def test_the_registry_says_via_without_importing_a_family():
    code = (
        "import sys; from producer import backends, plan; "
        "vias = [backends.spec(n).via for n in ('threads', 'celery-prefork', 'scripted-family')]; "
        "plan.backend_names(['celery-threads']); "
        "print(vias, [m for m in sys.modules if m.startswith(('celery', 'producer.backends.celery'))])"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "['local', 'broker', 'broker'] []", out.stderr


def test_each_family_in_the_registry_keeps_the_protocol():
    for name in families.FAMILIES:
        found = families.family(name)
        assert found.name == name and found.title
        for method in ("check", "not_here", "row_params", "worker_modules", "services", "breakdown"):
            assert callable(getattr(found, method)), (name, method)


def test_an_embedded_plan_gives_every_celery_row_workers_of_its_own_group():
    settings = Settings(backends=("sequential", "celery-prefork"), workers={"prefork": 3}, concurrency=2)
    (base, row) = plan.compare(settings).rows
    assert (row.workers, row.params) == (3, {"queue": "prefork"})
    assert base.workers is None


def test_every_family_probes_the_modules_its_workers_need():
    from producer import backends

    for entry in backends.REGISTRY.values():
        needed = families.family(entry.family).worker_modules(entry)
        assert set(needed) <= set(families.FAMILIES[entry.family].probes), entry.name
        assert set(needed) <= set(backends.NEEDS.modules)
