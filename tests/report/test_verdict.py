"""The verdict decides only on separated evidence, and never contradicts itself (issue 8)."""

from __future__ import annotations

from producer.report.messages import render
from tests.fakes import codes_of, fake_run, make_doc, said

SEQ = [1.0, 1.02, 0.98, 1.01, 0.99]


def test_gil_bound_work_is_cpu_bound_and_goes_to_processes_and_prefork():
    doc = make_doc(
        fake_run("sequential", SEQ, concurrency=1),
        fake_run("threads", [1.01, 0.99, 1.0, 1.02, 1.0]),
        fake_run("processes", [0.52, 0.5, 0.51, 0.5, 0.52]),
        fake_run("celery-prefork", [0.55, 0.56, 0.54, 0.55, 0.56]),
        fake_run("celery-threads", [1.05, 1.04, 1.06, 1.05, 1.04]),
    )
    v = doc["verdict"]
    assert v["kind"] == "cpu-bound" and v["confidence"] == "high"
    assert v["recommend"] == {"local": "processes", "celery": "prefork"}
    assert "GIL" in render(v["reason"])


def test_waiting_work_is_io_bound_and_threads_cost_least():
    doc = make_doc(
        fake_run("sequential", SEQ, cpu_share=0.05, concurrency=1),
        fake_run("threads", [0.51, 0.5, 0.5, 0.52, 0.5], cpu_share=0.05),
        fake_run("processes", [0.52, 0.5, 0.53, 0.5, 0.51], cpu_share=0.05),
    )
    assert doc["verdict"]["kind"] == "io-bound"
    assert doc["verdict"]["recommend"]["local"] == "threads"  # overlapping with processes: the cheaper one


def test_a_starved_cpu_bound_baseline_is_not_read_as_waiting():
    # A busy machine: the baseline spends half its time in the run queue, not waiting for I/O.
    doc = make_doc(
        fake_run("sequential", SEQ, cpu_share=0.5, runq_share=0.5, concurrency=1),
        fake_run("threads", [1.0, 1.01, 0.99, 1.0, 1.02], cpu_share=0.5, runq_share=0.5),
        fake_run("processes", [0.98, 1.0, 1.01, 0.99, 1.0], cpu_share=0.5, runq_share=0.5),
        others=1.0,
    )
    v = doc["verdict"]
    assert v["kind"] == "undecided" and v["recommend"] == {"local": None}
    notes = said(v["notes"])
    assert "other programs kept about 1.0 of its 2 CPUs busy" in notes and "starved" in notes
    assert {"busy-machine", "starved-baseline"} <= set(codes_of(v["notes"]))


def test_overlapping_intervals_give_undecided_not_a_pick():
    doc = make_doc(
        fake_run("sequential", [0.6, 1.5, 0.7, 1.4, 1.0], concurrency=1),
        fake_run("threads", [1.5, 0.6, 1.4, 0.7, 1.0]),
        fake_run("processes", [0.9, 1.0, 0.6, 1.5, 0.8]),
    )
    assert doc["verdict"]["kind"] == "undecided"
    assert doc["verdict"]["recommend"] == {"local": None}
    assert "To decide" in said(doc["verdict"]["notes"]) and "next-steps" in codes_of(doc["verdict"]["notes"])


def test_it_recommends_only_backends_that_ran():
    threads = fake_run("threads", [1.0, 1.01, 0.99, 1.0, 1.0])
    doc = make_doc(fake_run("sequential", SEQ, concurrency=1), threads)
    v = doc["verdict"]
    assert v["kind"] == "undecided" and v["recommend"]["local"] is None
    assert "no backend with a GIL per worker ran" in render(v["reason"])


def test_the_celery_pick_is_the_twin_of_the_local_pick_or_nothing():
    doc = make_doc(
        fake_run("sequential", SEQ, concurrency=1),
        fake_run("threads", [1.0, 1.01, 0.99, 1.0, 1.0]),
        fake_run("processes", [0.52, 0.5, 0.51, 0.5, 0.52]),
        fake_run("celery-prefork", [1.2, 1.25, 1.22, 1.21, 1.24]),  # slower than the baseline
        fake_run("celery-threads", [0.9, 0.91, 0.92, 0.9, 0.91]),  # faster, but not the twin
    )
    v = doc["verdict"]
    assert v["recommend"] == {"local": "processes", "celery": None}
    assert "prefork pool did not beat the baseline" in said(v["notes"])
    assert "broker-twin-not-faster" in codes_of(v["notes"])


def test_clear_gains_of_gil_releasing_work_are_not_missed():
    # NumPy-like: threads 1.26x, processes 1.68x, both separated.
    doc = make_doc(
        fake_run("sequential", SEQ, concurrency=1),
        fake_run("threads", [0.79, 0.8, 0.78, 0.8, 0.79]),
        fake_run("processes", [0.6, 0.59, 0.6, 0.6, 0.59]),
        native_threads=[{"library": "libopenblas", "api": "openblas", "threads": 2}],
    )
    v = doc["verdict"]
    assert v["kind"] == "gil-releasing" and v["recommend"]["local"] == "processes"
    assert "OPENBLAS_NUM_THREADS=1" in said(v["notes"]) and "openblas (2 threads)" in said(v["notes"])


def test_free_threaded_threads_are_a_valid_answer_for_cpu_work():
    doc = make_doc(
        fake_run("sequential", SEQ, concurrency=1),
        fake_run("threads", [0.52, 0.5, 0.51, 0.5, 0.52]),
        fake_run("processes", [0.53, 0.5, 0.52, 0.5, 0.51]),
        gil=False,
    )
    for r in doc["results"]:
        r["python"]["gil_enabled"] = False
    from producer.report.verdict import judge

    v = judge(doc)
    assert v["kind"] == "cpu-bound" and v["recommend"]["local"] == "threads"
    assert v["reason"]["code"] == "threads-scaled" and v["reason"]["gil"] is False  # data, not prose
    assert "no GIL" in render(v["reason"])


def test_batches_too_short_to_measure_get_no_speedup_and_no_verdict():
    doc = make_doc(fake_run("sequential", [0.004] * 5, concurrency=1), fake_run("threads", [0.002] * 5))
    assert all(r["speedup"] is None and r["cpu_util"] is None for r in doc["results"])
    assert doc["verdict"]["kind"] == "undecided" and "too short" in render(doc["verdict"]["reason"])


def test_a_pool_with_a_caveat_is_never_recommended():
    doc = make_doc(
        fake_run("sequential", SEQ, cpu_share=0.05, concurrency=1),
        fake_run("celery-gevent", [0.3] * 5, cpu_share=0.05, caveats=["stalls"]),
        fake_run("celery-solo", [1.1, 1.1, 1.12, 1.1, 1.11], cpu_share=0.05, concurrency=1),
    )
    assert doc["verdict"]["kind"] == "io-bound" and doc["verdict"]["recommend"]["celery"] is None


def test_threads_faster_without_more_cpu_are_not_read_as_releasing_the_gil():
    # A busy machine: the thread pool won more CPU share than the lone baseline thread.
    doc = make_doc(
        fake_run("sequential", SEQ, cpu_share=0.6, runq_share=0.4, concurrency=1),
        fake_run("threads", [0.75, 0.76, 0.74, 0.75, 0.76], cpu_share=0.45, concurrency=2),
        fake_run("processes", [0.76, 0.75, 0.77, 0.75, 0.76], cpu_share=0.45, concurrency=2),
        others=1.0,
    )
    threads = next(r for r in doc["results"] if r["backend"] == "threads")
    assert threads["comparison"]["class"] == "faster"
    assert doc["verdict"]["kind"] == "undecided" and doc["verdict"]["recommend"]["local"] is None


def test_a_small_thread_gain_on_one_core_beside_scaling_processes_is_still_the_gil():
    # threads 1.06x but one core busy; processes 1.84x on two: no parallel work in threads.
    doc = make_doc(
        fake_run("sequential", SEQ, concurrency=1),
        fake_run("threads", [0.86, 0.97, 0.88, 0.95, 0.9], cpu_share=0.5),
        fake_run("processes", [0.55, 0.54, 0.56, 0.55, 0.53]),
    )
    v = doc["verdict"]
    assert v["kind"] == "cpu-bound" and v["recommend"]["local"] == "processes"
    assert "ran no work in parallel" in render(v["reason"])


def test_a_short_batch_on_a_busy_machine_is_judged_by_its_tasks_own_cpu_time():
    """Batches under 100 ms have no CPU/wall from clock ticks; the tasks' thread clocks still
    show that threads kept no more cores busy than the starved baseline (here 0.6 against
    0.35): faster from the scheduler's share, not in parallel. Measured so on a 2-core
    machine with 1.6 CPUs taken by others (squares 300,000 x 4)."""
    walls = [0.090, 0.092, 0.091, 0.089, 0.090]
    doc = make_doc(
        fake_run("sequential", walls, cpu_share=0.35, runq_share=0.65, concurrency=1),
        fake_run("threads", [w / 1.8 for w in walls], cpu_share=0.3, runq_share=0.7),
        others=1.6,
    )
    assert all(r["cpu_util"] is None for r in doc["results"])  # too few ticks
    v = doc["verdict"]
    assert v["kind"] == "undecided" and v["recommend"]["local"] is None
    assert v["reason"]["code"] == "threads-busy-machine"
