"""A chart is never empty without a reason: the points that exist, and what is missing and why."""

from __future__ import annotations

import pytest

from producer.report import missing, plot
from tests.fakes import fake_run, make_doc
from tests.helpers import load_json, run_cli, unavailable


def test_each_missing_point_has_its_reason():
    doc = make_doc(fake_run("sequential", [1.0] * 3, concurrency=1), fake_run("threads", [0.5] * 3))
    short = {**doc["results"][1], "too_short": True, "speedup": None, "comparison": None}
    assert missing.reason(short).startswith("too short to measure")
    assert missing.reason(None) == "not measured"
    assert missing.reason({**short, "wall_s": None}) == "failed"
    said = missing.sentence([("threads c=1", "too short"), ("threads c=2", "too short"), ("p", "failed")])
    assert said == "Not drawn: threads c=1, threads c=2: too short; p: failed"


@pytest.fixture(scope="module")
def too_short_sweep(tmp_path_factory):
    if not plot.available():
        unavailable("matplotlib is not installed (pip install -e '.[test]')")
    folder = tmp_path_factory.mktemp("sweep")
    args = ["sweep", "--workload", "squares", "--size", "2000", "--tasks", "2", "--concurrency", "1,2"]
    args += ["--backends", "threads", "--repeat", "3", "--warmup", "0", "--no-progress"]
    args += ["--json", str(folder / "sweep.json"), "--plot", str(folder / "sweep.svg")]
    proc = run_cli(*args)
    assert proc.returncode == 0, proc.stderr
    return load_json(folder / "sweep.json"), (folder / "sweep.svg").read_text()


def test_a_sweep_of_too_short_batches_says_so_on_its_chart(too_short_sweep):
    doc, svg = too_short_sweep
    assert all(p["speedup"] is None for points in doc["sweep"]["series"].values() for p in points)
    assert 'id="not-drawn"' in svg  # the sentence, drawn in the chart's middle


def test_the_compare_chart_says_what_it_did_not_draw(too_short_sweep):
    doc, _ = too_short_sweep
    svg = plot.render({**doc, "sweep": None}, image_format="svg").decode()
    assert 'id="not-drawn"' in svg
    whole = make_doc(fake_run("sequential", [1.0, 1.0, 1.0], concurrency=1), fake_run("threads", [0.5] * 3))
    assert 'id="not-drawn"' not in plot.render(whole, image_format="svg").decode()
