"""The result document, the table and the verdict, built from synthetic runs."""

from __future__ import annotations

from producer import backends
from producer.measure import host
from producer.measure.rounds import BackendRun, Batch
from producer.report import document, text
from producer.report.verdict import judge


def render(doc):
    return text.render(doc, wide=True, width=200)


def verdict(doc):
    doc["verdict"] = judge(doc)
    return text.verdict_sentences(doc)


def fake_run(name, walls, cpu_per_wall, concurrency, tasks=4, caveats=(), **settings):
    entry = backends.spec(name)
    info = {"name": name, "family": entry.family, "pool": entry.pool, "concurrency": concurrency}
    run = BackendRun(name, info={**info, "caveats": list(caveats), "settings": settings}, startup_s=0.01)
    for r, wall in enumerate(walls):
        recs = [
            {"index": i, "started": 0.0, "ended": wall, "cpu_s": wall * cpu_per_wall / tasks}
            for i in range(tasks)
        ]
        run.batches.append(Batch(r, False, wall, wall * cpu_per_wall, recs))
    run.summaries = [{"count": 1}] * tasks
    return run


def build(*runs):
    m = {**host.describe(), "cpus_usable": 2, "gil_enabled": True}
    return document.build(
        list(runs),
        machine=m,
        workload={
            "name": "squares",
            "spec": "squares",
            "size": 10,
            "tasks": 4,
            "kind": "cpu",
            "description": "",
        },
        settings={
            "tasks": 4,
            "concurrency": 2,
            "repeat": 3,
            "warmup": 1,
            "timeout": 60,
            "malloc_arena_max": 1,
        },
        stack=None,
    )


def gil_bound():
    return build(
        fake_run("sequential", [1.0, 1.02, 0.98], 1.0, 1),
        fake_run("threads", [1.01, 0.99, 1.0], 1.0, 2),
        fake_run("processes", [0.52, 0.5, 0.51], 1.95, 2),
        fake_run("celery-prefork", [0.55, 0.56, 0.54], 1.9, 2, workers=1),
        fake_run("celery-threads", [1.05, 1.04, 1.06], 1.0, 2, workers=1),
    )


def test_speedup_efficiency_and_spread_are_computed():
    doc = gil_bound()
    procs = next(r for r in doc["results"] if r["backend"] == "processes")
    assert procs["speedup"]["median"] == 1.0 / 0.51
    assert procs["speedup"]["paired"]["min"] == 0.98 / 0.51  # rounds paired by index
    assert procs["efficiency"] == {"value": 1.0 / 0.51 / 2, "parallelism": 2}
    assert procs["wall_s"]["values"] == [0.52, 0.5, 0.51]
    assert procs["p_value_vs_baseline"] < 0.01
    assert doc["ok"] and doc["schema_version"] == document.SCHEMA_VERSION


def test_verdict_reads_gil_bound_work():
    doc = gil_bound()
    said = " ".join(verdict(doc))
    assert doc["verdict"]["kind"] == "cpu-bound"
    assert doc["verdict"]["recommend"] == {"local": "processes", "celery": "prefork"}
    assert "threads gained nothing (threads 1.00x)" in said and "GIL" in said


def test_verdict_reads_waiting_work():
    doc = build(
        fake_run("sequential", [1.0, 1.0, 1.0], 0.05, 1), fake_run("threads", [0.5, 0.5, 0.5], 0.1, 2)
    )
    verdict(doc)
    assert doc["verdict"]["kind"] == "io-bound" and doc["verdict"]["recommend"]["local"] == "threads"


def test_verdict_reads_gil_releasing_work():
    doc = build(
        fake_run("sequential", [1.0, 1.0, 1.0], 1.0, 1), fake_run("threads", [0.52, 0.5, 0.51], 1.9, 2)
    )
    assert "releases the GIL" in " ".join(verdict(doc))


def test_a_failed_backend_is_named_and_fails_the_document():
    bad = fake_run("threads", [1.0], 1.0, 2)
    bad.problems.append("1 of 4 results differ from the sequential baseline")
    doc = build(fake_run("sequential", [1.0], 1.0, 1), bad)
    assert not doc["ok"]
    assert "threads failed" in verdict(doc)[0]
    assert "differ from the sequential baseline" in render(doc)


def test_report_prints_every_number_with_spread_and_settings():
    text = render(gil_bound())
    assert "GIL enabled" in text and "CPython" in text and "concurrency 2" in text
    assert "1.96x (1.92-2.04)" in text  # processes: median and per-round range
    assert "±" in text and "start-up" in text
    assert "3 measured + 1 warm-up" in text


def test_unstable_measurements_are_flagged():
    doc = build(fake_run("sequential", [1.0, 2.0, 1.0], 1.0, 1))
    assert "unstable" in doc["results"][0]["warnings"][0]
    assert "(unstable)" in render(doc)


def test_verdict_judges_from_celery_pools_when_local_backends_did_not_run():
    doc = build(
        fake_run("sequential", [1.0, 1.02, 0.98], 1.0, 1),
        fake_run("celery-prefork", [0.55, 0.56, 0.54], 1.9, 2, workers=1),
        fake_run("celery-threads", [1.05, 1.04, 1.06], 1.0, 2, workers=1),
    )
    said = " ".join(verdict(doc))
    assert "(celery-threads 0.95x)" in said and "celery-prefork 1.82x" in said
    assert doc["verdict"]["recommend"] == {"local": None, "celery": "prefork"}  # only what ran


def test_verdict_recommends_no_pool_that_lost_to_the_baseline():
    doc = build(
        fake_run("sequential", [1.0, 1.0, 1.0], 0.05, 1),
        fake_run("celery-gevent", [9.0, 9.0, 9.0], 0.01, 2, workers=1, caveats=["stalls"]),
        fake_run("celery-solo", [1.1, 1.1, 1.1], 0.3, 1, workers=1),
    )
    verdict(doc)
    assert doc["verdict"]["recommend"] == {"local": None, "celery": None}
    assert "stalls" in render(doc)
