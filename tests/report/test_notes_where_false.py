"""Every finding tried where it must not fire (issue 15, item 11).

Each case is a real run on a workload that rules some findings out: waiting work
(``sleep``), pure-Python computing (``squares``), C code that releases the GIL
(``sha256``), tiny tasks, tasks = concurrency, and computing work on Celery's pools. The
table below says, for every code :mod:`producer.report.messages` can render, where it
must not appear, or why it may appear anywhere (its condition is the measurement
itself). A new code fails :func:`test_every_code_is_tried_where_it_is_false` until it is
added here, so no finding ships without being tried where it would be false.
"""

from __future__ import annotations

import pytest

from producer.api import compare
from producer.measure.decide import SCALES
from producer.report.messages import RENDER, codes

LOCAL = ["sequential", "threads", "processes"]
CASES = {
    "waiting": dict(workload="sleep", size=60, tasks=4, concurrency=4, backends=LOCAL),
    "pure-python": dict(workload="squares", size=300_000, tasks=4, concurrency=2, backends=LOCAL),
    "gil-releasing": dict(workload="sha256", size=16, tasks=4, concurrency=2, backends=LOCAL),
    "tiny": dict(workload="sleep", size=0, tasks=4, concurrency=2, backends=LOCAL),
    "tasks-equal-concurrency": dict(workload="squares", size=300_000, tasks=2, concurrency=2, backends=LOCAL),
    "celery-waiting": dict(
        workload="sleep", size=50, tasks=4, concurrency=4, backends=["celery-threads", "celery-prefork"]
    ),
    "celery-computing": dict(
        workload="squares",
        size=600_000,
        tasks=8,
        concurrency=2,
        backends=["celery-threads", "celery-prefork"],
    ),
}
EVERYWHERE = set(CASES)

WHERE_FALSE = {
    "beyond-ideal": EVERYWHERE,  # a GIL build: nothing here beats min(concurrency, tasks, CPUs / share)
    "disturbed": EVERYWHERE,  # no fault is injected
    "native-threads": EVERYWHERE,  # none of these workloads starts threads of its own
    "gil-back-on": EVERYWHERE,  # no free-threaded build
    "free-threading-cost": EVERYWHERE,
    "subinterpreters": EVERYWHERE,  # not run
    "too-short": EVERYWHERE - {"tiny"},
    "cpu-too-short": {"tiny"},  # no speedup at all there: "too-short" says it, CPU ticks are beside it
    "cpu-ticks": {"waiting", "tiny", "celery-waiting"},  # nothing computes: CPU/wall far under the CPUs
    "starved-baseline": {"waiting", "tiny", "celery-waiting"},  # a sleeping baseline queues for no CPU
    "oversubscribed": {"waiting", "tiny", "celery-waiting"},  # waiting work takes no turns on the cores
    "gil-starved-consumer": {"waiting", "gil-releasing", "tiny", "celery-waiting"},
    # tasks = concurrency: no second message to save (and CPU-bound celery-threads: below)
    "chunking-pays": {"celery-waiting"},
    "chunking-marginal": {"celery-waiting"},
    "broker-twin-missing": EVERYWHERE - {"celery-computing", "celery-waiting"},  # local only
    "broker-twin-not-faster": EVERYWHERE - {"celery-computing", "celery-waiting"},
    "no-broker-pick": EVERYWHERE - {"celery-computing", "celery-waiting"},
    "broker-bound": EVERYWHERE,  # loopback: the workers' broker RTT is far under 0.5 ms
    "link-sweep-first-rtt": EVERYWHERE,  # said by sweep --link-rtt only
}
FALSE_FOR_MODEL = {
    # CPU-bound work on a pool whose slots share one GIL: its slots wait for the GIL, not for
    # messages, so no chunking advice (prefork may get one where a message is a real share)
    "chunking-pays": {("celery-computing", "threads")},
    "chunking-marginal": {("celery-computing", "threads")},
}
"""Findings about one backend that must not fire for a backend of that model in that case."""
ANYWHERE = {
    "outlier": "its condition is measured: outlier rounds that move the median",
    "unstable": "its condition is measured: the rounds' spread",
    "busy-machine": "its condition is measured: others' load plus the work's needs reach the CPUs",
    "next-steps": "said with every undecided verdict",
    "undecided-budget": "said with an undecided verdict whose rounds ran out",
    "too-few-rounds": "said when fewer rounds than the minimum were measured",
}


def test_every_code_is_tried_where_it_is_false():
    assert set(RENDER) == set(WHERE_FALSE) | set(ANYWHERE)
    assert not set(WHERE_FALSE) & set(ANYWHERE)


@pytest.fixture(scope="module")
def runs():
    return {name: compare(**case, repeat=3, warmup=1) for name, case in CASES.items()}


@pytest.mark.parametrize("case", list(CASES))
def test_no_finding_fires_where_it_is_false(runs, case):
    doc = runs[case]
    found = set(codes(doc["verdict"]["notes"])) | {c for r in doc["results"] for c in codes(r["warnings"])}
    assert found <= set(RENDER), found - set(RENDER)
    false_here = {code for code, cases in WHERE_FALSE.items() if case in cases}
    assert found & false_here == set(), doc["verdict"]
    model = {r["backend"]: r["model"] for r in doc["results"]}
    about = [n for n in doc["verdict"]["notes"] if isinstance(n, dict) and "backend" in n]
    wrong = [n for n in about if (case, model[n["backend"]]) in FALSE_FOR_MODEL.get(n["code"], ())]
    assert wrong == [], wrong
    assert all(isinstance(r["warnings"], list) for r in doc["results"])


def test_waiting_work_is_bounded_by_its_concurrency_not_by_the_cpus(runs):
    doc = runs["waiting"]
    for r in doc["results"][1:]:
        assert r["ideal"]["limit"] in ("concurrency", "tasks") and r["ideal"]["value"] == 4
        assert r["efficiency"]["value"] <= SCALES  # never above its ideal
    busy = [n for n in doc["verdict"]["notes"] if isinstance(n, dict) and n["code"] == "busy-machine"]
    assert all(n["others"] + n["needs"] >= n["cpus"] and n["needs"] < 0.2 for n in busy)


def test_computing_work_is_bounded_by_the_cpus(runs):
    doc = runs["pure-python"]
    for r in doc["results"][1:]:
        assert r["ideal"]["value"] <= 2.5 and r["ideal"]["limit"] in ("concurrency", "cpus")


def test_tiny_tasks_are_too_short_for_a_speedup_and_say_so(runs):
    doc = runs["tiny"]
    assert "too-short" in codes(doc["results"][0]["warnings"])
    assert all(r["speedup"] is None for r in doc["results"])
    assert doc["verdict"]["kind"] == "undecided"


def test_every_local_process_runs_a_task_at_tasks_equal_to_concurrency(runs):
    doc = runs["tasks-equal-concurrency"]
    procs = next(r for r in doc["results"] if r["model"] == "processes")
    for batch in procs["rounds"]:
        assert len({t["pid"] for t in batch["tasks"]}) == 2  # fair dispatch: one task per process


def test_celery_pools_measured_a_message_cost(runs):
    doc = runs["celery-computing"]
    for r in doc["results"]:
        if r["via"] == "broker":
            cost = r["settings"]["message_cost"]
            assert cost["message_s"] > 0 and cost["tasks"] >= 8
