"""The result document built from synthetic runs: speedups, intervals, outliers, failures."""

from __future__ import annotations

import statistics

from producer.report.document import SCHEMA_VERSION
from tests.fakes import by_name, codes_of, fake_run, make_doc, said

SEQ = [1.0, 1.02, 0.98]


def gil_bound():
    return make_doc(
        fake_run("sequential", SEQ, concurrency=1),
        fake_run("threads", [1.01, 0.99, 1.0]),
        fake_run("processes", [0.52, 0.5, 0.51], cpu_share=0.97),
    )


def test_speedup_interval_efficiency_and_spread_are_computed():
    doc = gil_bound()
    procs = by_name(doc, "processes")
    ratios = [1.0 / 0.52, 1.02 / 0.5, 0.98 / 0.51]  # rounds paired by index
    assert procs["speedup"]["value"] == statistics.geometric_mean(ratios) == procs["comparison"]["mid"]
    assert procs["speedup"]["median"] == 1.0 / 0.52
    assert procs["speedup"]["paired"]["min"] == 0.98 / 0.51
    assert procs["ideal"]["value"] == 2 and procs["ideal"]["limit"] == "concurrency"
    assert procs["efficiency"] == {"value": procs["speedup"]["value"] / 2, "parallelism": 2}
    assert procs["wall_s"]["values"] == [0.52, 0.5, 0.51]
    assert procs["p_value_vs_baseline"] < 0.01
    c = procs["comparison"]
    assert c["class"] == "faster" and c["low"] < c["mid"] < c["high"] and c["n"] == 3
    assert by_name(doc, "threads")["comparison"]["class"] == "same"
    assert doc["ok"] and doc["schema_version"] == SCHEMA_VERSION


def test_time_split_says_where_the_tasks_spent_their_time():
    doc = make_doc(fake_run("sequential", SEQ, cpu_share=0.3, runq_share=0.2, concurrency=1))
    split = doc["results"][0]["time_split"]
    assert [round(split[k], 6) for k in ("cpu", "runq", "waiting")] == [0.3, 0.2, 0.5]


def test_a_failed_backend_fails_the_document():
    bad = fake_run("threads", [1.0, 1.0, 1.0])
    bad.problems.append("1 of 4 results differ from the sequential baseline")
    doc = make_doc(fake_run("sequential", SEQ, concurrency=1), bad)
    assert not doc["ok"] and not by_name(doc, "threads")["ok"]


def test_unstable_measurements_and_outliers_are_flagged_not_dropped():
    doc = make_doc(fake_run("sequential", [1.0, 1.01, 0.99, 1.0, 1.02, 3.0], concurrency=1))
    seq = doc["results"][0]
    assert "unstable" in codes_of(seq["warnings"])
    assert seq["outliers"] == [5] and len(seq["wall_s"]["values"]) == 6
    # the 3.0 s round moves the median by 5 ms, under half the IQR: ranked an outlier, not flagged
    assert "outlier" not in codes_of(seq["warnings"])


def test_an_outlier_is_flagged_only_when_it_moves_the_result_beyond_its_spread():
    walls = [1.0, 1.02, 0.98, 1.01, 0.99, 1.03, 3.0, 3.1, 3.2]
    tight = make_doc(fake_run("sequential", walls, concurrency=1))
    row = tight["results"][0]
    assert row["outliers"] and "outlier" in codes_of(row["warnings"])
    assert "kept, not dropped" in said(row["warnings"])
    tiny = make_doc(fake_run("sequential", [0.2, 0.2, 0.200028], concurrency=1))
    assert "outlier" not in codes_of(tiny["results"][0]["warnings"])


def test_disturbed_rounds_are_marked():
    seq = fake_run("sequential", SEQ, concurrency=1)
    threads = fake_run("threads", [1.0, 1.0, 1.0])
    threads.batches[1].disturbed = ["task 2 was delivered again"]
    doc = make_doc(seq, threads)
    row = by_name(doc, "threads")
    assert row["rounds"][1]["disturbed"] == ["task 2 was delivered again"]
    assert "1 disturbed round(s): task 2 was delivered again" in said(row["warnings"])
    assert [w["severity"] for w in row["warnings"] if w["code"] == "disturbed"] == ["warn"]


def test_load_during_the_run_is_recorded():
    doc = make_doc(fake_run("sequential", SEQ, concurrency=1), others=1.0)
    assert doc["load"]["others_during_cores"]["median"] == 1.0


def test_a_speedup_beyond_what_parallelism_allows_is_flagged_with_the_tasks_cpu():
    """Seen with free-threaded 3.13 on an allocation-heavy workload: two threads' calls cost
    half the CPU of one thread's, and threads ran 3.4x faster on 2 CPUs."""
    doc = make_doc(
        fake_run("sequential", [1.0, 1.02, 0.98, 1.01], concurrency=1),
        fake_run("threads", [0.33, 0.34, 0.32, 0.33]),
        fake_run("processes", [0.52, 0.5, 0.51, 0.5]),
    )
    threads, processes = by_name(doc, "threads"), by_name(doc, "processes")
    flagged = [w for w in threads["warnings"] if w["code"] == "beyond-ideal"]
    assert len(flagged) == 1 and flagged[0]["ideal"] == 2 and flagged[0]["cause"] == "cheaper-tasks"
    assert "165 ms of CPU each (median) against the baseline's 251 ms" in said(flagged)
    assert "beyond-ideal" not in codes_of(processes["warnings"])
