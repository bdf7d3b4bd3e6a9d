"""``convoy``: real sockets, threads and processes; structure and clean-up, never timings."""

from __future__ import annotations

import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET

import psutil
import pytest

from producer.convoy import measure, text
from producer.convoy.echo import EchoClient
from producer.convoy.measure import CONDITIONS, ConvoySettings
from producer.errors import ConvoyTimeout
from producer.services.environ import inherited
from tests.helpers import ROOT, assert_one_line_error, load_json, run_cli, wait_until

QUICK = ["--tasks", "1", "--duration", "0.2", "--rounds", "2"]
CHILD = "producer.convoy.child"


def convoy_children(parent: int) -> list[int]:
    """PIDs of live convoy children started by ``parent`` (their argv names it)."""
    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        cmdline = proc.info["cmdline"] or []
        if CHILD in cmdline and str(parent) in cmdline and proc.info["status"] != psutil.STATUS_ZOMBIE:
            found.append(proc.pid)
    return found


def orphans() -> list[int]:
    """Live convoy children whose parent (named in their argv) is gone: none should ever exist."""
    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        cmdline = proc.info["cmdline"] or []
        if CHILD in cmdline and proc.info["status"] != psutil.STATUS_ZOMBIE:
            parent = int(cmdline[cmdline.index(CHILD) + 2])
            if not psutil.pid_exists(parent):
                found.append(proc.pid)
    return found


def footprint() -> dict:
    """What this process holds: child processes, convoy threads, inet sockets."""
    me = psutil.Process()
    return {
        "children": [p.pid for p in me.children(recursive=True) if p.status() != psutil.STATUS_ZOMBIE],
        "threads": sorted(t.name for t in threading.enumerate() if t.name.startswith("poolbench-")),
        "sockets": sorted((c.laddr, c.status) for c in me.net_connections(kind="inet")),
    }


def check_document(doc: dict, tasks: int, rounds: int) -> None:
    assert doc["schema_version"] == measure.SCHEMA_VERSION
    assert doc["tool"]["command"] == "convoy"
    assert {"cpus_usable", "python_version", "gil_enabled", "free_threaded_build"} <= set(doc["machine"])
    s = doc["settings"]
    assert (s["tasks"], s["rounds"], s["interleaved"]) == (tasks, rounds, True)
    assert s["switch_interval_s"] > 0 and "environ" not in s
    assert [c["condition"] for c in doc["conditions"]] == list(CONDITIONS)
    for c in doc["conditions"]:
        assert c["samples"] > 0 and c["latency_s"]["n"] == c["samples"]
        assert (
            c["latency_s"]["min"]
            <= c["latency_s"]["median"]
            <= c["latency_s"]["p99"]
            <= c["latency_s"]["max"]
        )
        assert [r["round"] for r in c["rounds"]] == list(range(1, rounds + 1))
        assert sum(r["samples"] for r in c["rounds"]) == c["samples"]
        assert all(r["samples"] > 0 and r["requests_per_s"] > 0 for r in c["rounds"])
        assert len(c["vs_idle"]["p99"]["values"]) == rounds
        line = c["timeline"]
        assert 0 < len(line["t_s"]) == len(line["latency_s"]) <= measure.TIMELINE_LIMIT
        assert line["t_s"] == sorted(line["t_s"])
        loaded = c["condition"] != "idle"
        assert c["tasks"] == (tasks if loaded else 0)
        # the load really ran beside the server, and only where it should
        assert all((r["load_chunks_per_s"] > 0) == loaded for r in c["rounds"])
    idle = doc["conditions"][0]
    assert idle["vs_idle"]["requests_per_s"]["values"] == [1.0] * rounds
    assert doc["finding"]["kind"] in ("convoy", "no-convoy", "unclear")


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_convoy_measures_three_conditions_and_writes_json_and_png(tmp_path):
    out, picture = tmp_path / "convoy.json", tmp_path / "convoy.png"
    proc = run_cli("convoy", *QUICK, "--json", str(out), "--plot", str(picture), timeout=180)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    doc = load_json(out)
    check_document(doc, tasks=1, rounds=2)
    for words in ("no load", "1 thread ", "1 process ", "p99", "requests/s", "switch interval", "GIL"):
        assert words in proc.stdout, words
    assert text.sentences(doc)[0] in proc.stdout.replace("\n", " ")
    width, height = png_size(picture.read_bytes())
    assert 800 <= width <= 2000 and 500 <= height <= 2000
    assert wait_until(lambda: orphans() == [], 10), orphans()  # no child outlived its parent


def test_the_picture_has_a_row_and_a_histogram_per_condition_and_draws_svg(tmp_path):
    pytest.importorskip("matplotlib")
    from producer.convoy import plot

    doc = measure.run(ConvoySettings(tasks=1, duration=0.1, rounds=1, environ=inherited(os.environ)))
    fig = plot.figure(doc)
    assert len(fig.axes) == 2 * len(CONDITIONS)
    assert fig.axes[0].get_yscale() == "log"
    assert all(ax.get_title(loc="left") for ax in fig.axes[::2])
    root = ET.fromstring(plot.render(doc, "svg"))
    assert root.tag.endswith("svg") and float(root.get("width").removesuffix("pt")) > 500
    assert doc["machine"]["python_version"] in plot.caption(doc) and "1 task of" in plot.caption(doc)


def test_json_to_stdout_keeps_the_report_on_stderr():
    proc = run_cli("convoy", "--tasks", "1", "--duration", "0.1", "--rounds", "1", "--json", "-", timeout=180)
    assert proc.returncode == 0, proc.stderr
    import json

    check_document(json.loads(proc.stdout), tasks=1, rounds=1)
    assert "requests/s" in proc.stderr and "(one round: no interval)" in proc.stderr


def test_a_run_leaves_no_thread_process_or_socket_behind():
    before = footprint()
    doc = measure.run(ConvoySettings(tasks=2, duration=0.1, rounds=1, environ=inherited(os.environ)))
    check_document(doc, tasks=2, rounds=1)
    assert footprint() == before


@pytest.mark.parametrize("after_s", [0.3, 1.0, 1.6])
def test_ctrl_c_at_any_point_stops_everything(after_s):
    """SIGINT lands wherever the run is: starting, measuring, a load starting or stopping.

    Python's own Ctrl-C handler is put in place for the test: a pytest started in the
    background by a shell without job control inherits SIGINT ignored, and Python then
    leaves it ignored (the CLI installs its handlers itself, so it does not depend on this).
    """
    before = footprint()
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(after_s, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            measure.run(ConvoySettings(tasks=2, duration=0.4, rounds=20, environ=inherited(os.environ)))
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, previous)
    assert wait_until(lambda: footprint() == before, 10), (footprint(), before)


def test_sigterm_stops_the_cli_and_its_children_without_waiting_for_them():
    """Mid-measurement: the client is stopped, not waited for (its samples would fill the pipe),
    so stopping never runs into --timeout, made far longer here than the test would wait."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "producer", "convoy", "--duration", "5", "--rounds", "2", "--timeout", "600"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert wait_until(lambda: len(convoy_children(proc.pid)) > 1, 60), "no load process started"
        time.sleep(1.5)  # into the 5 s window beside the processes, where the client sends the most
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert proc.returncode == 143, stderr  # 128 + SIGTERM, as README and docs/FAULTS.md promise
    assert stderr.strip().splitlines()[-1].startswith("poolbench: interrupted")
    assert "Traceback" not in stderr
    assert wait_until(lambda: convoy_children(proc.pid) == [], 10)


def test_a_round_trip_that_never_returns_is_a_timeout_and_leaves_nothing():
    silent = socket.create_server(("127.0.0.1", 0))  # accepts connections, never answers
    try:
        before = footprint()
        with EchoClient(silent.getsockname()[1], 0.5, inherited(os.environ)) as client:
            with pytest.raises(ConvoyTimeout, match="overran --timeout"):
                client.measure(0.1)
        assert footprint() == before
    finally:
        silent.close()


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--tasks", "0"], "--tasks must be between 1"),
        (["--tasks", "100000"], "--tasks must be between 1"),
        (["--duration", "0"], "--duration"),
        (["--duration", "nan"], "--duration"),
        (["--rounds", "0"], "--rounds"),
        (["--rounds", "two"], "--rounds"),
        (["--timeout", "-1"], "--timeout"),
        (["--plot", "picture.gif"], ".png or .svg"),
        (["--plot", ""], "--plot writes a file"),
        (["--plot", "/no/such/folder/p.png"], "cannot write --plot"),
        (["--json", "/no/such/folder/r.json"], "cannot write --json"),
        (["--unknown"], "unrecognized arguments"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, needle):
    assert_one_line_error(run_cli("convoy", *args), 2, needle)


def test_without_matplotlib_plot_is_one_line_before_any_work(tmp_path):
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "matplotlib.py").write_text("raise ImportError('No module named matplotlib')\n")
    out = tmp_path / "never.json"
    proc = subprocess.run(
        [sys.executable, "-m", "producer", "convoy", "--json", str(out), "--plot", str(tmp_path / "p.png")],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(shim), str(ROOT)])},
    )
    assert_one_line_error(proc, 2, "--plot needs matplotlib", "pip install 'poolbench[plot]'")
    assert not out.exists() and proc.stdout == ""


def _rounds(*requests_per_s: float) -> list[dict]:
    return [{"requests_per_s": r, "p99_s": 1 / r} for r in requests_per_s]


@pytest.mark.parametrize(
    "threads, processes, kind",
    [
        ((1000, 1100, 900), (20000, 21000, 19000), "convoy"),
        ((20000, 21000, 19000), (20500, 20000, 19500), "no-convoy"),
        ((1000, 20000, 900), (20000, 21000, 1000), "unclear"),
        ((100, 1000, 1000), (1000, 900, 3000), "unclear"),  # a mean of 3x, but not surely above 1
        ((1000,), (5000,), "convoy"),  # one round: the single ratio decides
    ],
)
def test_finding_judges_processes_against_threads_round_by_round(threads, processes, kind):
    conditions = [
        {"condition": "threads", "rounds": _rounds(*threads)},
        {"condition": "processes", "rounds": _rounds(*processes)},
    ]
    found = measure.finding(conditions)
    assert found["kind"] == kind
    assert len(found["processes_vs_threads_requests"]["values"]) == len(threads)


def test_percentile_interpolates_between_ranks():
    assert measure.percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert measure.percentile(list(range(101)), 99) == 99.0
    assert measure.percentile([5.0], 99) == 5.0
    assert measure.percentile([0.0, 10.0], 99) == pytest.approx(9.9)
    with pytest.raises(ValueError):
        measure.percentile([], 50)


def test_ratios_print_with_the_precision_they_deserve():
    assert [text.times(v) for v in (1234.5, 45.67, 1.234, 0.0123)] == ["1,234", "45.7", "1.23", "0.012"]
    assert text.label({"condition": "threads", "tasks": 1}) == "1 thread"
    assert text.label({"condition": "processes", "tasks": 3}) == "3 processes"
