"""Free-threaded CPython and subinterpreters, for real: `compare --python` as a user runs it.

No timing is asserted: on a loaded 2-core machine a speedup can come out anything. What
cannot flake is *how* the tasks spent their time (the row's time split: on a CPU, in the
run queue, or waiting). Two threads sharing a GIL run one at a time: while one holds it
the other sleeps on its lock, so together they never keep more than one core busy, and
they spend a good share of their time waiting, however busy the machine is (a busy
machine moves some of that wait into the run queue, not all of it). A thread of a free-threaded
build, or a subinterpreter with a GIL of its own, never sleeps on another's lock: whatever
is not on a CPU is in the run queue, so it waits for nothing.

Needs scripts/build-free-threaded-python's interpreter and a 3.13 with the
interpreters-pep-734 backport (see .ci/run); without them these tests skip, except under
CI=true, where they fail.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import sysconfig
import textwrap
import time

import pytest

from producer.report.messages import render
from tests.helpers import ROOT, assert_one_line_error, load_json, run_cli

QUICK = ["--tasks", "4", "--concurrency", "2", "--repeat", "3", "--warmup", "1"]
GIL_WAIT = 0.12
"""Two threads sharing a GIL over four tasks waited for it 20 to 40% of their time here, the
least on the busiest machine."""
NO_WAIT = 0.06
"""Without a shared GIL, a task waits for nothing but a CPU (the run queue, counted apart): 0 here."""


def _shared_a_gil(row: dict) -> bool:
    """One core at most between them, and a share of their time asleep on the lock. Time queued
    for a CPU (a busy machine) is left out of the share: starved is not waiting for the GIL."""
    split = row["time_split"]
    running = split["waiting"] + split["cpu"]
    return running > 0 and split["waiting"] / running >= GIL_WAIT and row["cpu_util"]["median"] <= 1.2


def _waited_for_nothing(row: dict) -> bool:
    return row["time_split"]["waiting"] <= NO_WAIT


def _compare(tmp_path, *args: str) -> dict:
    out = tmp_path / "run.json"
    proc = run_cli("compare", "-v", *QUICK, *args, "--json", str(out), timeout=600)  # -v: every group
    assert proc.returncode == 0, proc.stderr
    doc = load_json(out)
    doc["text"] = re.sub(r"\n\s*", " ", proc.stdout)  # unwrapped
    return doc


def _row(doc: dict, label: str) -> dict:
    return next(r for r in doc["results"] if r["backend"] == label)


def test_free_threaded_threads_run_python_in_parallel_where_the_gil_build_cannot(tmp_path, free_threaded):
    backends = "--backends", "sequential,threads"
    doc = _compare(tmp_path, "--python", free_threaded.executable, "--workload", "countdown", *backends)
    here = doc["pythons"][0]["label"]
    assert [g["label"] for g in doc["pythons"]] == [here, "3.13.5t"] and doc["ok"]
    gil, free = _row(doc, f"threads [{here}]"), _row(doc, "threads [3.13.5t]")
    assert gil["python"]["gil_enabled"] is True and gil["python"]["executable"] == sys.executable
    assert free["python"]["executable"] == free_threaded.executable
    assert (free["python"]["gil_enabled"], free["python"]["free_threaded_build"]) == (False, True)
    assert _shared_a_gil(gil), (gil["time_split"], gil["cpu_util"])
    assert _waited_for_nothing(free), free["time_split"]
    assert len({r["checksum"] for r in doc["results"]}) == 1  # the same answers on both
    cost = doc["pythons"][1]["single_thread_cost"]
    assert cost is not None and cost["low"] <= cost["mid"] <= cost["high"]
    assert f"single-thread cost against {here}: 3.13.5t {cost['mid']:.2f}x" in doc["text"]
    assert doc["pythons"][1]["verdict"]["evidence"]["gil"] is False
    assert doc["pythons"][0]["verdict"]["evidence"]["gil"] is True


def test_the_verdict_for_a_function_never_seen_before_on_the_free_threaded_python(tmp_path, free_threaded):
    (tmp_path / "unseen.py").write_text(
        "def crunch(size):\n    total = 0\n    for i in range(size):\n"
        "        total = (total + i * i) % 1000003\n    return total\n"
    )
    workload = f"{tmp_path / 'unseen.py'}:crunch"
    doc = _compare(
        tmp_path, "--python", free_threaded.executable, "--workload", workload, "--size", "400000",
        "--backends", "sequential,threads,processes",
    )  # fmt: skip
    verdict = doc["pythons"][1]["verdict"]
    assert verdict["evidence"]["gil"] is False and doc["verdict"] == doc["pythons"][0]["verdict"]
    threads = _row(doc, "threads [3.13.5t]")
    assert _waited_for_nothing(threads) and threads["ok"]
    if verdict["kind"] != "undecided":  # decided: then by threads' parallel run, and with its cost
        assert verdict["kind"] == "cpu-bound" and "no GIL" in render(verdict["reason"])
        assert any("single-thread cost" in render(note) for note in verdict["notes"])
    assert "On 3.13.5t (CPython 3.13.5, free-threaded, GIL disabled): " in doc["text"]


def test_a_module_that_turns_the_gil_back_on_is_named(tmp_path, free_threaded):
    """A C extension that does not declare free-threading support, built here for the free-threaded Python."""
    paths = subprocess.run(
        [free_threaded.executable, "-c", "import sysconfig as s; print(s.get_paths()['include']); "
         "print(s.get_config_var('EXT_SUFFIX'))"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    (tmp_path / "legacy.c").write_text(LEGACY_EXTENSION)
    built = tmp_path / f"legacy_ext{paths[1]}"
    cc = sysconfig.get_config_var("CC") or "cc"
    compiled = subprocess.run(
        [*cc.split(), "-shared", "-fPIC", f"-I{paths[0]}", str(tmp_path / "legacy.c"), "-o", str(built)],
        capture_output=True, text=True,
    )  # fmt: skip
    if compiled.returncode != 0:
        pytest.fail(f"cannot build the test extension: {compiled.stderr[-500:]}")
    (tmp_path / "uses_legacy.py").write_text(USES_LEGACY)
    workload = f"{tmp_path / 'uses_legacy.py'}:f"
    doc = _compare(
        tmp_path, "--python", free_threaded.executable, "--workload", workload, "--size", "100000",
        "--backends", "sequential,threads",
    )  # fmt: skip
    for label in ("sequential [3.13.5t]", "threads [3.13.5t]"):
        python = _row(doc, label)["python"]
        assert python["gil_enabled"] is True and python["gil_enabled_by"] == ["legacy_ext"], python
    notes = " ".join(render(n) for n in doc["pythons"][1]["verdict"]["notes"])
    assert "importing legacy_ext" in notes and "turned it back on" in notes
    assert "GIL re-enabled by legacy_ext" in doc["text"]


def test_subinterpreters_on_313_run_python_in_parallel(tmp_path, with_subinterpreters):
    args = ["--python", with_subinterpreters.executable, "--workload", "countdown"]
    doc = _compare(tmp_path, *args, "--backends", "sequential,threads,interpreters")
    label = doc["pythons"][1]["label"]
    subs, threads = _row(doc, f"interpreters [{label}]"), _row(doc, f"threads [{label}]")
    assert subs["ok"] and subs["settings"]["interpreters_per_process"] == 2
    assert subs["python"]["executable"] == with_subinterpreters.executable
    measured = [r for r in subs["rounds"] if not r["warmup"]]
    assert all(len({t["pid"] for t in r["tasks"]}) == 1 for r in measured)  # one process
    assert any(len({t["interpreter"] for t in r["tasks"]}) == 2 for r in measured)  # two interpreters
    assert _waited_for_nothing(subs), subs["time_split"]
    assert _shared_a_gil(threads), (threads["time_split"], threads["cpu_util"])
    assert f"did not run on {doc['pythons'][0]['label']}: interpreters: " in doc["text"]


@pytest.mark.redis
def test_the_celery_threads_pool_with_and_without_the_gil(tmp_path, free_threaded):
    args = ["--python", free_threaded.executable, "--workload", "countdown"]
    doc = _compare(tmp_path, *args, "--backends", "sequential,celery-threads")
    here = doc["pythons"][0]["label"]
    gil, free = _row(doc, f"celery-threads [{here}]"), _row(doc, "celery-threads [3.13.5t]")
    assert free["settings"]["queue"] == "threads-3.13.5t" and gil["settings"]["queue"] == "threads"
    assert free["python"]["gil_enabled"] is False and free["python"]["free_threaded_build"] is True
    assert gil["python"]["gil_enabled"] is True
    assert _shared_a_gil(gil), (gil["time_split"], gil["cpu_util"])
    assert _waited_for_nothing(free), free["time_split"]


def test_an_interpreter_without_the_workers_dependencies_is_told_how_to_get_them(tmp_path):
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp_path / "bare")], check=True)
    bare = str(tmp_path / "bare" / "bin" / "python")
    proc = run_cli("compare", "--python", bare, "--backends", "sequential,celery-threads")
    assert_one_line_error(
        proc, 2, f"--python {bare} cannot run the embedded threads workers: it lacks celery"
    )
    assert f"`{bare} -m pip install poolbench`" in proc.stderr
    assert "scripts/build-free-threaded-python" in proc.stderr


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="this Python may have subinterpreters")
def test_interpreters_is_listed_apart_and_refused_without_a_python_that_has_it():
    listed = run_cli("list").stdout
    available, _, rest = listed.partition("not available on ")
    assert "  interpreters " not in available and "  interpreters " in rest
    proc = run_cli("compare", "--backends", "sequential,interpreters")
    assert_one_line_error(proc, 2, "interpreters: subinterpreters need Python 3.12 or later", "--python PATH")


def test_a_free_threaded_queue_needs_running_workers():
    proc = run_cli("compare", "--backends", "sequential,celery-threads-ft")
    assert_one_line_error(
        proc, 2, "celery-threads-ft reaches running workers on queue 'threads-ft'", "--broker"
    )


def test_a_path_that_is_not_a_python_is_refused_in_one_line(tmp_path):
    proc = run_cli("compare", "--python", str(tmp_path / "nothing"), "--backends", "sequential")
    assert_one_line_error(proc, 2, f"--python {tmp_path / 'nothing'}: not a working Python 3.10 or later")


LEGACY_EXTENSION = textwrap.dedent(
    """
    #include <Python.h>
    /* No Py_mod_gil slot: a free-threaded CPython turns its GIL on to load this module. */
    static struct PyModuleDef legacy = {PyModuleDef_HEAD_INIT, "legacy_ext", NULL, 0, NULL};
    PyMODINIT_FUNC PyInit_legacy_ext(void) { return PyModuleDef_Init(&legacy); }
    """
)
USES_LEGACY = textwrap.dedent(
    """
    import os, sys, sysconfig

    def f(size):
        if sysconfig.get_config_var("Py_GIL_DISABLED"):  # built for the free-threaded Python only
            sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
            import legacy_ext  # noqa: F401
        return sum(i % 7 for i in range(size))
    """
)


def test_a_subinterpreter_that_cannot_import_the_task_is_abandoned_with_a_clear_error(with_subinterpreters):
    """The backport spins forever on a function its subinterpreter cannot unpickle: here
    poolbench's packages are on the child's own sys.path but not on its subinterpreters'
    (no PYTHONPATH), so the child's first trivial call never returns; it gives up after
    its startup timeout, says why, and exits."""
    from multiprocessing import Pipe

    ours, theirs = Pipe(duplex=True)
    code = f"import sys; sys.path.insert(0, {str(ROOT)!r}); from producer.backends.child import main; "
    code += f"main([{str(theirs.fileno())!r}, {str(os.getpid())!r}, '2', 'interpreters', '2'])"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    child = subprocess.Popen(
        [with_subinterpreters.executable, "-I", "-c", code], pass_fds=(theirs.fileno(),), env=env
    )
    theirs.close()
    try:
        assert ours.poll(60), "the child said nothing within 60 s"
        kind, message = ours.recv()
        assert kind == "unready" and "did not return within 2 s" in message, message
        assert "must be importable there" in message
        assert child.wait(timeout=30) == 1
    finally:
        child.kill()
        child.wait()
        ours.close()


def test_the_python_api_takes_other_interpreters(free_threaded):
    from producer import compare

    run = compare("countdown", size=300_000, tasks=2, concurrency=2, backends=["threads"], repeat=1,
                  warmup=0, pythons=[free_threaded.executable])  # fmt: skip
    here = run["pythons"][0]["label"]
    rows = [f"sequential [{here}]", f"threads [{here}]", "sequential [3.13.5t]", "threads [3.13.5t]"]
    assert run.backends == rows
    assert run.result("threads [3.13.5t]")["python"]["gil_enabled"] is False and run.ok


@pytest.mark.parametrize(
    "sig, group", [(signal.SIGINT, True), (signal.SIGTERM, False)], ids=["ctrl-c", "sigterm"]
)
def test_a_stop_leaves_no_child_of_another_interpreter_behind(tmp_path, free_threaded, sig, group):
    """The children started as commands under --python are in sessions of their own: the
    producer stops them itself, whatever they run."""
    from tests.app.test_stops import HANGS, start, stop_and_check, wait_for_children

    def under_it(seen) -> list:
        return [c for c in seen if free_threaded.executable in _cmdline(c)]

    (tmp_path / "hangs.py").write_text(HANGS)
    args = ["--workload", "hangs.py:hangs", "--backends", "sequential,threads,processes"]
    producer, temp = start(tmp_path, *args, "--concurrency", "2", "--python", free_threaded.executable)
    children = wait_for_children(producer, lambda seen: len(under_it(seen)) >= 4)  # 1 + 1 + 2 processes
    time.sleep(0.5)
    stop_and_check(producer, sig, group, children, temp)


def _cmdline(process) -> str:
    import psutil

    try:
        return " ".join(process.cmdline())
    except psutil.Error:
        return ""
