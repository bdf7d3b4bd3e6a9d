"""The terminal report: fits 80 columns, every number with its spread, sentences from data."""

from __future__ import annotations

from producer.report import text
from tests.fakes import fake_run, make_doc

SEQ = [1.0, 1.02, 0.98, 1.01]


def doc():
    return make_doc(
        fake_run("sequential", SEQ, concurrency=1),
        fake_run("threads", [1.01, 0.99, 1.0, 1.0]),
        fake_run("processes", [0.52, 0.5, 0.51, 0.5]),
        fake_run("celery-prefork", [0.55, 0.56, 0.54, 0.55], workers=1, prefetch_multiplier=1),
        fake_run("celery-threads", [1.05, 1.04, 1.06, 1.05], workers=1, queue="threads"),
    )


def test_the_default_report_fits_80_columns():
    report = text.render(doc(), width=80)
    too_wide = [line for line in report.splitlines() if len(line) > 80]
    assert not too_wide, too_wide


def test_wide_shows_every_column():
    report = text.render(doc(), wide=True, width=200)
    for title in ("conc.", "min-max", "efficiency", "start-up"):
        assert title in report


def test_every_number_comes_with_its_spread_and_settings():
    report = text.render(doc(), width=80)
    assert "±" in report and "1.98x [1.88-2.08]" in report  # geometric mean, 95% interval
    sp = doc()["results"][2]["speedup"]
    median_range = f"{sp['value']:.2f}x ({sp['paired']['min']:.2f}-{sp['paired']['max']:.2f})"
    assert median_range in text.render(doc(), wide=True, width=200)  # median, per-round range
    assert "CPython" in report and "GIL enabled" in report and "concurrency 2" in report
    assert "prefetch multiplier 1" in report.replace("\n  ", " ")  # the workers' own setting
    assert "mingle unknown" in report.replace("\n  ", " ")  # not reported: never assumed


def test_the_verdict_is_told_in_sentences_made_from_its_data():
    said = " ".join(text.verdict_sentences(doc()))
    assert "This work is cpu-bound" in said
    assert "Locally, use processes." in said and "In Celery, pick the prefork pool." in said


def test_colour_only_when_asked():
    assert "\033[" not in text.render(doc())
    assert "\033[1m" in text.render(doc(), color=True)
