"""`diff` that a person reads: 80 columns, "no change", the table's statistic, enough rounds."""

from __future__ import annotations

from producer.report import diff
from tests.fakes import fake_run, make_doc

SEQ = [1.0, 1.02, 0.98, 1.01, 1.0]


def run(processes: list[float], rounds: int = 5):
    return make_doc(
        fake_run("sequential", SEQ[:rounds], concurrency=1),
        fake_run("celery-threads", [1.0, 1.01, 0.99, 1.0, 1.0][:rounds]),
        fake_run("processes", processes[:rounds]),
    )


def shown(a, b) -> str:
    return diff.render(diff.compare(a, b, "a.json", "b.json"))


def test_a_run_against_itself_is_no_change_within_80_columns():
    a = run([0.52, 0.5, 0.51, 0.5, 0.5], rounds=3)  # too few rounds for a test, and yet the same
    out = shown(a, a)
    assert out.splitlines()[-1].startswith("no change")
    assert "times faster" not in out and "faster" not in out.split("time = ")[0]
    assert max(len(line) for line in out.splitlines()) <= 80


def test_a_real_change_is_said_with_its_size_and_p():
    out = shown(run([0.52, 0.5, 0.51, 0.5, 0.5]), run([0.62, 0.6, 0.61, 0.6, 0.6]))
    row = next(line for line in out.splitlines() if line.startswith("processes "))
    assert "x slower ±" in row and row.rstrip().endswith("*")
    assert out.splitlines()[-1] == "changed: processes 1.20x slower ±0.03"
    sequential = next(line for line in out.splitlines() if line.startswith("sequential "))
    assert "no change" in sequential
    assert max(len(line) for line in out.splitlines()) <= 80


def test_noise_is_no_change():
    out = shown(run([0.52, 0.5, 0.51, 0.5, 0.5]), run([0.5, 0.52, 0.5, 0.51, 0.5]))
    assert out.splitlines()[-1].startswith("no change: no backend differs")


def test_too_few_rounds_are_not_tested_and_the_report_says_why():
    a, b = run([0.52, 0.5, 0.51], rounds=3), run([0.62, 0.6, 0.61], rounds=3)
    change = next(c for c in diff.compare(a, b).changes if c.backend == "processes")
    assert change.p_value is not None and not change.tested and not change.significant
    out = shown(a, b)
    assert "untested" in out and "- (3)" in out
    assert f"fewer than {diff.MIN_ROUNDS} rounds" in out.replace("\n  ", " ")


def test_the_speedup_is_the_tables_statistic():
    a = run([0.52, 0.5, 0.51, 0.5, 0.5])
    c = a["results"][2]["comparison"]
    assert f"{c['mid']:.2f}x [{c['low']:.2f}-{c['high']:.2f}]" in shown(a, a)  # geometric mean, 95%
