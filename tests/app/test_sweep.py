"""sweep: every point in one interleaved run, where scaling stops, its chart, bad input."""

from __future__ import annotations

import json

import pytest

from producer.report import plot
from producer.sweep import where_scaling_stops
from tests.helpers import assert_one_line_error, run_cli, unavailable


def point(label, speedup, low, high):
    return {"label": label, "speedup": speedup, "low": low, "high": high}


def test_scaling_stops_at_the_last_clearly_better_point():
    points = [
        point("c=1", 1.0, 0.97, 1.03),
        point("c=2", 1.9, 1.85, 1.95),
        point("c=4", 1.92, 1.8, 2.0),
        point("c=8", 1.8, 1.7, 1.9),
    ]
    stop = where_scaling_stops(points)
    assert stop["at"] == "c=2" and stop["speedup"] == 1.9
    assert "c=4: 1.92x" in stop["reason"] and "c=8: 1.80x" in stop["reason"]


def test_no_measured_point_says_so():
    assert where_scaling_stops([point("c=1", None, None, None)])["at"] is None


def test_a_local_sweep_measures_every_point_in_one_run(tmp_path):
    if not plot.available():
        unavailable("matplotlib is not installed (pip install -e '.[test]')")
    out, picture = tmp_path / "sweep.json", tmp_path / "sweep.png"
    proc = run_cli(
        "sweep",
        *("--workload", "sleep", "--size", "40", "--backends", "threads", "--concurrency", "1,2,4"),
        *("--repeat", "3", "--warmup", "0", "--json", str(out), "--plot", str(picture)),
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text())
    assert [r["backend"] for r in doc["results"]] == [
        "sequential",
        "threads c=1",
        "threads c=2",
        "threads c=4",
    ]
    assert [r["concurrency"] for r in doc["results"][1:]] == [1, 2, 4]
    assert doc["settings"]["tasks"] == 8  # twice the largest concurrency
    series = doc["sweep"]["series"]["threads"]
    assert [p["ideal"] for p in series] == [1, 2, 4]  # sleep waits: bounded by C, not by the 2 CPUs
    assert doc["sweep"]["stops"]["threads"]["reason"]
    assert all(len(r["wall_s"]["values"]) == 3 for r in doc["results"])
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and picture.stat().st_size > 10_000
    assert "threads: c=1 " in proc.stdout and "ideal = min(" in proc.stdout


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--concurrency", "1,x"], "--concurrency takes whole numbers"),
        (["--concurrency", "0,2"], "--concurrency takes whole numbers from 1"),
        (["--workers", "1,99"], "--workers takes whole numbers from 1 to 64"),
    ],
)
def test_bad_sweep_input_is_one_line(args, needle):
    assert_one_line_error(run_cli("sweep", "--backends", "threads", *args, timeout=30), 2, needle)


def test_sweeping_celery_needs_its_own_workers():
    proc = run_cli("sweep", "--backends", "celery-prefork", "--broker", "redis://127.0.0.1:1/0", timeout=30)
    assert_one_line_error(proc, 2, "sweep starts Celery workers of its own")
