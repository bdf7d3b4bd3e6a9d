"""Several interpreters in one run (--python), as pure logic: groups, rows, checks, the
single-thread cost, and what the verdict says of free threading and subinterpreters.

The interpreters here are values (what a probe of another Python returns), not processes;
tests/app/test_free_threaded.py runs the real ones.
"""

from __future__ import annotations

import dataclasses
import sys

import pytest

from producer import plan, pythons
from producer.backends.celery import CeleryBackend
from producer.backends.celery.caveats import FREE_THREADED_GEVENT
from producer.backends.celery.family import CeleryFamily
from producer.errors import UsageError
from producer.report.messages import render
from producer.services.environ import Interpreter
from producer.settings import Settings
from tests.fakes import by_name, fake_run, make_doc
from tests.fakes import said as render_all

HERE = Interpreter(sys.executable, "3.11.7", "CPython", (3, 11), True, False, (), "needs 3.12")
FT = Interpreter("/ft/bin/python", "3.13.5", "CPython", (3, 13), False, True, ("gevent",), "no backport")
SUBS = Interpreter("/py313/bin/python", "3.13.0", "CPython", (3, 13), True, False, ("celery", "redis"), None)
SEQ = [1.0, 1.02, 0.98, 1.01, 0.99]


def test_this_python_comes_first_and_duplicates_are_dropped():
    found = pythons.groups(Settings(pythons=(FT, HERE, FT)), here=HERE)
    assert [(g.label, g.interpreter.executable, g.first) for g in found] == [
        ("3.11.7", sys.executable, True),
        ("3.13.5t", "/ft/bin/python", False),
    ]
    assert [g.label for g in pythons.groups(Settings(), here=HERE)] == [
        ""
    ]  # one group: rows keep their names


def test_two_pythons_of_one_version_get_labels_apart():
    other = dataclasses.replace(SUBS, executable="/other/bin/python")
    labels = [g.label for g in pythons.groups(Settings(pythons=(SUBS, other)), here=HERE)]
    assert labels == ["3.11.7", "3.13.0#1", "3.13.0#2"]


def test_every_group_gets_its_rows_its_queues_and_its_interpreter():
    settings = Settings(
        backends=("sequential", "threads", "celery-threads", "interpreters"), pythons=(FT, SUBS)
    )
    found = pythons.groups(settings, here=HERE)
    planned = plan.compare(settings, found)
    variants, skipped = planned.rows, planned.skipped
    plans = CeleryFamily().worker_plans([r for r in variants if r.spec.via == "broker"])
    assert [v.label for v in variants] == [
        "sequential [3.11.7]",
        "threads [3.11.7]",
        "celery-threads [3.11.7]",
        "sequential [3.13.5t]",
        "threads [3.13.5t]",
        "celery-threads [3.13.5t]",
        "sequential [3.13.0]",
        "threads [3.13.0]",
        "celery-threads [3.13.0]",
        "interpreters [3.13.0]",
    ]
    assert [(p.queue, p.interpreter.executable) for p in plans] == [
        ("threads", sys.executable),
        ("threads-3.13.5t", "/ft/bin/python"),
        ("threads-3.13.0", "/py313/bin/python"),
    ]
    assert variants[4].params == {"interpreter": FT}
    assert variants[5].params == {"queue": "threads-3.13.5t"}
    assert skipped == {"3.11.7": ["interpreters: needs 3.12"], "3.13.5t": ["interpreters: no backport"]}


def test_running_workers_are_measured_once_and_serve_every_group():
    settings = Settings(backends=("sequential", "celery-threads"), broker_url="redis://x", pythons=(FT,))
    planned = plan.compare(settings, pythons.groups(settings, here=HERE))
    assert [(r.label, r.served, r.params) for r in planned.rows] == [
        ("sequential [3.11.7]", (), {}),
        ("celery-threads [3.11.7]", ("3.13.5t",), {}),
        ("sequential [3.13.5t]", (), {"interpreter": FT}),
    ]
    assert planned.skipped == {}  # nothing left out: the running workers' row serves both groups


def test_what_no_interpreter_of_the_run_can_serve_is_refused_before_any_work():
    with pytest.raises(UsageError, match=r"interpreters: needs 3.12; run it under .* --python PATH"):
        plan.check(Settings(backends=("sequential", "interpreters")), pythons.groups(Settings(), here=HERE))
    both = Settings(backends=("sequential", "celery-threads"), pythons=(SUBS,))
    with pytest.raises(
        UsageError, match=r"/py313/bin/python cannot run the embedded threads workers: it lacks "
    ):
        plan.check(both, pythons.groups(both, here=HERE))
    gevent = Settings(backends=("sequential", "celery-gevent"), pythons=(FT,))
    with pytest.raises(UsageError, match=r"lacks gevent; .*scripts/build-free-threaded-python"):
        plan.check(gevent, pythons.groups(gevent, here=HERE))
    ft_queue = Settings(backends=("sequential", "celery-threads-ft"))
    with pytest.raises(UsageError, match="give --broker or REDIS_URL"):
        plan.check(ft_queue, pythons.groups(ft_queue, here=HERE))
    served = Settings(backends=("sequential", "interpreters"), pythons=(SUBS,))
    plan.check(served, pythons.groups(served, here=HERE))  # one of them has it: enough


def _grouped(*runs_by_group):
    """A document of several groups, each a list of runs, judged per group."""
    runs, found = [], []
    for python, group_runs in runs_by_group:
        label = python.label
        found.append(pythons.Group(label, python, not found))
        for run in group_runs:
            run.group = label
            run.info["settings"]["interpreter"] = {
                "executable": python.executable,
                "python_version": python.version,
                "gil_enabled": python.gil_enabled,
                "free_threaded_build": python.free_threaded_build,
            }
            runs.append(run)
    doc = make_doc(*runs)
    rows = [plan.Row(r.name, r.name, Settings(), group=r.group) for r in runs]
    doc["pythons"] = pythons.summarize(doc, plan.Plan(Settings(), tuple(found), tuple(rows)))
    return doc


def test_each_group_is_judged_against_its_own_baseline_with_the_single_thread_cost():
    doc = _grouped(
        (HERE, [fake_run("sequential", SEQ, concurrency=1), fake_run("threads", SEQ)]),
        (FT, [fake_run("sequential", [2 * w for w in SEQ], concurrency=1), fake_run("threads", SEQ)]),
    )
    gil, free = doc["pythons"]
    assert by_name(doc, "threads")["speedup"]["median"] == pytest.approx(1.0)
    assert gil["single_thread_cost"] is None
    cost = free["single_thread_cost"]
    assert cost["class"] == "slower" and cost["low"] <= 2.0 <= cost["high"]
    assert gil["verdict"]["evidence"]["gil"] is True and free["verdict"]["evidence"]["gil"] is False
    v = free["verdict"]
    assert (
        v["kind"] == "cpu-bound" and v["recommend"]["local"] == "threads" and "no GIL" in render(v["reason"])
    )
    said = render_all(v["notes"])
    assert "single-thread cost: one call took 2.00x" in said and "the time it took on 3.11.7" in said
    assert "valid answer for pure-Python work" in said


def test_without_a_gil_build_in_the_run_the_cost_is_said_to_be_unmeasured():
    doc = make_doc(
        fake_run("sequential", SEQ, concurrency=1), fake_run("threads", [w / 2 for w in SEQ]), gil=False
    )
    assert doc["verdict"]["recommend"]["local"] == "threads"
    notes = render_all(doc["verdict"]["notes"])
    assert "did not measure" in notes and "--python with a GIL build" in notes


def test_a_free_threaded_build_whose_gil_came_back_on_names_the_module_even_undecided():
    python = {"free_threaded_build": True, "gil_enabled": True, "gil_enabled_by": ["legacy_ext"]}
    doc = make_doc(fake_run("sequential", SEQ[:2], concurrency=1), fake_run("threads", SEQ[:2]))
    for r in doc["results"]:
        r["python"].update(python)
    from producer.report.verdict import judge

    v = judge(doc)
    assert v["kind"] == "undecided"
    assert "importing legacy_ext" in render_all(v["notes"]) and "turned it back on" in render_all(v["notes"])


def test_subinterpreters_that_win_are_recommended_with_what_they_cost():
    rows = [fake_run("sequential", SEQ, concurrency=1), fake_run("threads", SEQ)]
    doc = make_doc(*rows, fake_run("interpreters", [w / 2 for w in SEQ]))
    v = doc["verdict"]
    assert v["kind"] == "cpu-bound" and "while subinterpreters, each with its own GIL" in render(v["reason"])
    assert v["recommend"] == {"local": "interpreters"}
    notes = render_all(v["notes"])
    assert "They are the pick" in notes and "pickled" in notes and "importable" in notes
    rows = [fake_run("sequential", SEQ, concurrency=1), fake_run("threads", SEQ)]
    prefork = fake_run("celery-prefork", [w / 1.9 for w in SEQ])
    doc = make_doc(*rows, fake_run("interpreters", [w / 2 for w in SEQ]), prefork)
    # no Celery pool of the same model: the one with a GIL per worker, as subinterpreters have
    assert doc["verdict"]["recommend"] == {"local": "interpreters", "celery": "prefork"}


def test_processes_stay_the_pick_where_subinterpreters_are_not_clearly_faster():
    doc = make_doc(
        fake_run("sequential", SEQ, concurrency=1),
        fake_run("threads", SEQ),
        fake_run("processes", [0.5, 0.51, 0.49, 0.5, 0.5]),
        fake_run("interpreters", [0.51, 0.49, 0.5, 0.52, 0.48]),
    )
    assert doc["verdict"]["recommend"]["local"] == "processes"
    assert any(render(n).startswith("Subinterpreters ran it") for n in doc["verdict"]["notes"])


def test_a_gevent_pool_on_a_free_threaded_python_is_flagged():
    backend = CeleryBackend(Settings(broker_url="redis://127.0.0.1:1/0"), pool="gevent")
    backend._node_info = {"n": {"interpreter": {"free_threaded_build": True, "gil_enabled": True}}}
    assert FREE_THREADED_GEVENT in backend.caveats()
    backend._node_info = {"n": {"interpreter": {"free_threaded_build": False}}}
    assert FREE_THREADED_GEVENT not in backend.caveats()


def test_running_workers_show_in_every_group_they_serve_and_are_judged_in_their_own():
    runs = [
        fake_run("sequential", SEQ, concurrency=1),
        fake_run("celery-threads", SEQ),
        fake_run("sequential", [2 * w for w in SEQ], concurrency=1),
    ]
    found = [pythons.Group(HERE.label, HERE, True), pythons.Group(FT.label, FT, False)]
    for run, label in zip(runs, [HERE.label, HERE.label, FT.label], strict=True):
        run.group = label
    doc = make_doc(*runs)
    rows = (
        plan.Row("sequential", "sequential", Settings(), group=HERE.label),
        plan.Row("celery-threads", "celery-threads", Settings(), group=HERE.label, served=(FT.label,)),
        plan.Row("sequential", "sequential", Settings(), group=FT.label),
    )
    gil, free = pythons.summarize(doc, plan.Plan(Settings(), tuple(found), rows))
    assert gil["rows"] == ["sequential", "celery-threads"] and gil["served"] == []
    assert free["rows"] == ["sequential", "celery-threads"] and free["served"] == ["celery-threads"]
    assert not any(free["verdict"]["recommend"].values())  # its verdict read its own baseline alone
