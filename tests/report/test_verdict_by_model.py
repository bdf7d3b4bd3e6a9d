"""The verdict judges by what a backend declares (model, via, shares_gil), never by its name
(issue 17, item 1; issue 15, item 4)."""

from __future__ import annotations

import pytest

from producer import session
from producer.backends.scripted import Script, installed
from producer.measure.results import build
from producer.report.messages import render
from producer.report.verdict import judge
from producer.settings import Settings
from tests.fakes import codes_of, fake_run, make_doc

SEQ = [1.0, 1.02, 0.98, 1.01, 0.99]


def test_an_unknown_name_with_a_declared_model_is_judged_and_picked():
    with installed(Script(), name="mystery", model="processes"):
        doc = make_doc(
            fake_run("sequential", SEQ, concurrency=1),
            fake_run("threads", [1.01, 0.99, 1.0, 1.02, 1.0]),
            fake_run("mystery", [0.52, 0.5, 0.51, 0.5, 0.52]),
        )
    v = doc["verdict"]
    assert v["kind"] == "cpu-bound" and v["recommend"] == {"local": "mystery"}
    assert v["evidence"]["processes"]["backend"] == "mystery" and "mystery" in render(v["reason"])


def test_a_model_that_shares_the_gil_is_never_the_pick_for_gil_bound_work():
    with installed(Script(), name="odd-threads", model="threads"):
        doc = make_doc(
            fake_run("sequential", SEQ, concurrency=1),
            fake_run("odd-threads", [0.99, 1.0, 1.01, 1.0, 0.99]),
            fake_run("processes", [0.52, 0.5, 0.51, 0.5, 0.52]),
        )
    v = doc["verdict"]
    assert v["evidence"]["threads"]["backend"] == "odd-threads"
    assert v["kind"] == "cpu-bound" and v["recommend"]["local"] == "processes"


def test_a_separation_decides_though_threads_own_class_is_unclear():
    """The compose table: processes' interval wholly above threads', threads unclear."""
    doc = make_doc(
        fake_run("sequential", SEQ, concurrency=1),
        fake_run("threads", [0.9, 1.12, 0.95, 1.1, 1.0]),
        fake_run("processes", [0.55, 0.52, 0.54, 0.53, 0.55]),
        fake_run("celery-prefork", [0.55, 0.53, 0.54, 0.56, 0.54]),
    )
    threads = next(r for r in doc["results"] if r["backend"] == "threads")
    assert threads["comparison"]["class"] == "unclear"
    v = doc["verdict"]
    assert v["kind"] == "cpu-bound" and "lies wholly above" in render(v["reason"])
    assert v["recommend"] == {"local": "processes", "celery": "prefork"}


def test_an_undecided_verdict_says_how_many_more_rounds_would_tell():
    doc = make_doc(
        fake_run("sequential", SEQ, concurrency=1),
        fake_run("threads", [1.0, 0.8, 1.05, 0.85, 0.95]),
        fake_run("processes", [0.9, 0.7, 1.0, 0.75, 0.85]),
    )
    v = doc["verdict"]
    assert v["kind"] == "undecided"
    budget = [n for n in v["notes"] if isinstance(n, dict) and n["code"] == "undecided-budget"]
    assert len(budget) == 1 and budget[0]["cause"] == "repeat" and budget[0]["rounds"] == 5
    assert budget[0]["more_rounds"] is None or budget[0]["more_rounds"] > 0


def test_too_few_rounds_for_a_pick_say_so():
    doc = make_doc(
        fake_run("sequential", [0.5, 0.5], cpu_share=0.02, concurrency=1),
        fake_run("threads", [0.1, 0.1], cpu_share=0.02),
    )
    v = doc["verdict"]
    assert v["kind"] == "io-bound" and v["recommend"]["local"] is None
    assert "too-few-rounds" in codes_of(v["notes"])


def test_a_real_run_with_an_unknown_name_is_judged_by_its_model():
    """The scripted backend runs its tasks one by one: declared as processes, it is the
    candidate with a GIL per worker, and the verdict names it, undecided or not."""
    settings = Settings(
        backends=("sequential", "threads", "stranger"), tasks=4, concurrency=2, repeat=3, warmup=0
    )
    with installed(Script(), name="stranger", model="processes"):
        runs = session.rounds(settings, "squares", 100_000)
        doc = build(
            runs,
            machine={"cpus_usable": 2, "hostname": "here"},
            workload={"name": "squares", "spec": "squares", "size": 100_000, "kind": "builtin"},
            settings={"tasks": 4, "concurrency": 2, "repeat": 3, "warmup": 0, "timeout": 60},
            stack=None,
        )
    row = next(r for r in doc["results"] if r["backend"] == "stranger")
    assert (row["model"], row["via"], row["shares_gil"]) == ("processes", "local", False)
    assert row["comparison"] is not None, (doc["results"][0]["warnings"], row)
    v = judge(doc)
    assert v["evidence"]["processes"]["backend"] == "stranger"  # judged as the GIL-per-worker model
    assert v["recommend"]["local"] != "stranger"  # one task at a time: it never beats the baseline


def test_repeat_auto_stops_once_the_verdicts_question_is_answered():
    """Sleeping threads scale at once: the rounds stop at the minimum, far inside --max-time."""
    settings = Settings(
        backends=("sequential", "threads"), tasks=4, concurrency=4, repeat=None, max_time=60, warmup=1
    )
    runs = session.rounds(settings, "sleep", 20)
    assert [len(run.measured) for run in runs] == [3, 3]


def test_an_answered_question_is_never_blamed_on_the_budget():
    """Neither gained: undecided, but not because rounds ran out."""
    doc = make_doc(
        fake_run("sequential", SEQ, concurrency=1),
        fake_run("threads", [1.0, 1.01, 0.99, 1.0, 1.01]),
        fake_run("processes", [1.01, 1.0, 0.99, 1.0, 1.0]),
    )
    v = doc["verdict"]
    assert v["kind"] == "undecided" and "neither" in render(v["reason"])
    assert "undecided-budget" not in codes_of(v["notes"])


def test_threads_that_ran_nothing_in_parallel_in_batches_too_short_for_clock_ticks_are_said():
    """CPU/wall is None for a batch under MIN_CPU_BATCH_S: the cores threads kept busy come from
    their tasks' own CPU time, as the rule that chose this sentence read them (CI once crashed here)."""
    doc = make_doc(
        fake_run("sequential", [0.05, 0.051, 0.049, 0.05, 0.05], concurrency=1),
        fake_run("threads", [0.04, 0.041, 0.04, 0.039, 0.04], cpu_share=0.5),
        fake_run("processes", [0.025, 0.026, 0.025, 0.024, 0.025]),
    )
    threads = next(r for r in doc["results"] if r["backend"] == "threads")
    assert threads["cpu_util"] is None and threads["comparison"]["class"] == "faster"
    v = doc["verdict"]
    assert v["kind"] == "cpu-bound" and v["reason"]["code"] == "threads-not-parallel", v["reason"]
    assert v["reason"]["threads_cores"] == pytest.approx(1.0) and "keeping 1.00 cores" in render(v["reason"])
