"""The terminal report: the answer on one screen, every number with its spread, sentences from data."""

from __future__ import annotations

from producer.report import text
from tests.fakes import by_name, fake_run, make_doc

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
    for verbose in (0, 1, 2):
        report = text.render(doc(), width=80, verbose=verbose)
        too_wide = [line for line in report.splitlines() if len(line) > 80]
        assert not too_wide, too_wide


def test_the_answer_fits_on_one_screen_with_the_verdict_and_the_warnings():
    d = doc()
    by_name(d, "processes")["warnings"].append(
        "unstable: standard deviation is 15% of the mean; use more --repeat or --warmup, or a quieter machine"
    )
    by_name(d, "threads")["warnings"].append(
        {"code": "cpu-too-short", "severity": "warn", "median_s": 0.05, "min_s": 0.1, "tick_s": 0.01}
    )
    by_name(d, "threads")["caveats"].append({"code": "aside", "severity": "note", "text": "an aside"})
    lines = text.render(d, width=80).splitlines()
    assert len(lines) <= 24 and max(map(len, lines)) <= 80
    assert any(line.startswith("This work is cpu-bound") for line in lines)
    assert "Locally, use processes. In Celery, pick the prefork pool." in lines
    assert any(line.startswith("processes: unstable: standard deviation is 15%") for line in lines)
    said = [line for line in lines if line.startswith("threads: no CPU/wall: its batch took 50")]
    assert said, lines  # a coded record, rendered by messages.render
    assert "an aside" not in "\n".join(lines)  # a note waits for -v
    assert "an aside" in text.render(d, width=80, verbose=1)
    assert "prefetch multiplier" not in "\n".join(lines) and lines[-1].startswith("more: -v")


def test_verbosity_adds_notes_settings_then_costs():
    d = doc()
    by_name(d, "celery-prefork").update(
        queue_wait_s={"median": 0.01, "iqr": 0.002}, task_run_s={"median": 0.5, "iqr": 0.01}
    )
    one, two = text.render(d, verbose=1), text.render(d, verbose=2)
    assert "prefetch multiplier 1" in one.replace("\n  ", " ") and "queue wait" not in one
    assert "queue wait 10 ms" in two.replace("\n  ", " ")


def test_wide_shows_every_column():
    report = text.render(doc(), wide=True, width=200)
    for title in ("conc.", "min-max", "efficiency", "start-up"):
        assert title in report


def test_every_number_comes_with_its_spread_and_settings():
    report = text.render(doc(), width=80, verbose=1)
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


def test_the_same_warning_on_several_backends_is_one_line_without_their_numbers():
    d = doc()
    for name, rsd in (("threads", 21), ("processes", 47)):
        by_name(d, name)["warnings"].append(
            f"unstable: standard deviation is {rsd}% of the mean; use more --repeat or --warmup"
        )
    lines = text.render(d, width=80).splitlines()
    assert "unstable: threads, processes" in lines
    assert not any("21%" in line or "47%" in line for line in lines)  # each backend's figure: -v
    assert "standard deviation is 47% of the mean" in text.render(d, width=80, verbose=1)


def test_an_undecided_verdict_says_what_to_run_next():
    d = doc()
    d["verdict"] = {
        **d["verdict"],
        "kind": "undecided",
        "reason": "threads' gain is not clear from noise yet",
        "notes": ["To decide: raise --max-time or --repeat.", "Chunking would gain a little."],
    }
    said = text.short_verdict(d)
    assert said == [
        "Undecided: threads' gain is not clear from noise yet.",
        "To decide: raise --max-time or --repeat.",
    ]


def test_many_warnings_and_a_long_verdict_still_fit_24_lines():
    d = doc()
    d["verdict"]["reason"] = "threads ran no work in parallel " * 8
    for r in d["results"]:
        r["warnings"] += [f"warning {c} of {r['backend']}; details" for c in "abc"]
    lines = text.render(d, width=80).splitlines()
    assert len(lines) <= 24 and lines[-1].startswith("more: -v")
    assert any(line.startswith("This work is cpu-bound") for line in lines)
    assert any(line.startswith("and ") and line.endswith("more warnings (-v)") for line in lines)
