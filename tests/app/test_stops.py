"""Stopping a real ``python -m producer compare`` with real signals, and cleaning up after SIGKILL.

Each run gets a temporary folder of its own (TMPDIR), so "nothing left behind" covers
files as well as processes.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from producer.services import folders
from producer.services.redis import find_redis_server
from producer.stack import FOLDER_PREFIX
from tests.helpers import HANGS_AFTER_PREFLIGHT, ROOT, unavailable

HANGS = HANGS_AFTER_PREFLIGHT
LOCAL = "sequential,threads,processes"


def start(tmp_path, *args: str) -> tuple[subprocess.Popen, str]:
    """The producer in a session of its own (as a shell runs a job), with TMPDIR a fresh folder."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env.update(PYTHONPATH=str(ROOT), TMPDIR=str(temp))
    producer = subprocess.Popen(
        [sys.executable, "-m", "producer", "compare", "--size", "1", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
        start_new_session=True,
    )
    return producer, str(temp)


def wait_for_children(producer: subprocess.Popen, ready, seconds: float = 60) -> list[psutil.Process]:
    seen: dict[int, psutil.Process] = {}
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and producer.poll() is None:
        for child in psutil.Process(producer.pid).children(recursive=True):
            seen.setdefault(child.pid, child)
        if ready(list(seen.values())):
            return list(seen.values())
        time.sleep(0.05)
    producer.kill()
    pytest.fail(
        f"the producer did not start what it should; saw {len(seen)} processes: {producer.stderr.read()}"
    )


def stop_and_check(producer, sig: int, group: bool, children, temp: str, already_sent: bool = False) -> str:
    """Send ``sig``; check the exit code, the one line, and that nothing at all remains."""
    with contextlib.suppress(psutil.Error):  # what it started since: checked as well
        children = [*children, *psutil.Process(producer.pid).children(recursive=True)]
    try:
        if not already_sent:
            os.killpg(producer.pid, sig) if group else producer.send_signal(sig)
        _, stderr = producer.communicate(timeout=60)
    finally:
        if producer.poll() is None:
            os.killpg(producer.pid, signal.SIGKILL)
            producer.wait()
    assert producer.returncode == 128 + sig, stderr
    assert stderr.splitlines() == [
        f"poolbench: interrupted ({signal.Signals(sig).name}); everything it started has been stopped"
    ]
    gone, alive = psutil.wait_procs(children, timeout=10)
    assert alive == [], [p.cmdline() for p in alive]
    assert os.listdir(temp) == []
    return stderr


@pytest.mark.parametrize(
    "sig, group",
    [(signal.SIGINT, True), (signal.SIGINT, False), (signal.SIGTERM, False), (signal.SIGHUP, True)],
    ids=["ctrl-c-to-the-group", "sigint", "sigterm", "sighup-to-the-group"],
)
def test_a_stop_during_a_task_that_never_returns_is_one_line_and_leaves_nothing(tmp_path, sig, group):
    (tmp_path / "hangs.py").write_text(HANGS)
    producer, temp = start(
        tmp_path, "--workload", "hangs.py:hangs", "--backends", LOCAL, "--concurrency", "2"
    )
    children = wait_for_children(producer, lambda seen: len(seen) >= 4)  # 1 + 1 + 2 local processes
    time.sleep(0.5)  # the baseline's first task is running, and never returns
    stop_and_check(producer, sig, group, children, temp)


@pytest.mark.parametrize("gap_s", [0.0, 0.005, 0.02])
def test_a_second_ctrl_c_while_stopping_still_prints_one_line_and_leaves_nothing(tmp_path, gap_s):
    (tmp_path / "hangs.py").write_text(HANGS)
    producer, temp = start(
        tmp_path, "--workload", "hangs.py:hangs", "--backends", LOCAL, "--concurrency", "2"
    )
    children = wait_for_children(producer, lambda seen: len(seen) >= 4)
    time.sleep(0.5)
    os.killpg(producer.pid, signal.SIGINT)
    time.sleep(gap_s)
    with contextlib.suppress(ProcessLookupError):  # it may have finished stopping already
        os.killpg(producer.pid, signal.SIGINT)
    stop_and_check(producer, signal.SIGINT, True, children, temp, already_sent=True)


REENTERED = """
import signal, sys
from producer import stops
from producer.errors import Interrupted

def run(k):
    # a Ctrl-C, and a second one at the k-th line the handler runs (in itself or what it calls)
    lines = []

    def tracer(frame, event, arg):
        f = frame
        while f is not None and f.f_code is not stops._raise_interrupted.__code__:
            f = f.f_back
        if f is not None and event == "line":
            lines.append(frame.f_code.co_name)
            if len(lines) == k:
                signal.raise_signal(signal.SIGINT)
        return tracer

    caught = 0
    with stops.handled():
        sys.settrace(tracer)
        try:
            signal.raise_signal(signal.SIGINT)
            for _ in range(10):
                pass
        except Interrupted:
            caught += 1
        finally:
            sys.settrace(None)
    return caught, len(lines)

for k in range(1, 16):
    caught, lines = run(k)
    print(caught, lines, flush=True)
"""


def test_a_second_signal_inside_the_handler_itself_is_let_go_without_a_deadlock():
    """The race CI once lost (1 run in about 10): the second Ctrl-C of a double press ran the
    handler again while the first held a lock (``threading.Event.set``), and the producer
    waited for itself forever. Here the second signal comes at every line the handler runs
    in turn, in itself and in what it calls; each run must end with exactly one Interrupted."""
    child = subprocess.Popen(
        [sys.executable, "-c", REENTERED],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        start_new_session=True,
    )
    try:
        out, err = child.communicate(timeout=30)
    finally:
        if child.poll() is None:  # deadlocked: its own handler would wait on the lock again
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
    assert child.returncode == 0, err
    runs = [line.split() for line in out.splitlines()]
    assert len(runs) == 15
    assert all(caught == "1" for caught, _ in runs), runs
    assert any(int(lines) >= 2 for _, lines in runs), "the second signal never came inside the handler"


@pytest.mark.redis
def test_sigterm_during_an_embedded_run_stops_workers_and_redis_and_removes_the_folder(tmp_path):
    if find_redis_server() is None:
        unavailable("no redis-server for the embedded stack")
    producer, temp = start(
        tmp_path, "--workload", "sleep", "--size", "200", "--tasks", "4", "--concurrency", "2",
        "--repeat", "100", "--backends", "sequential,celery-prefork",
    )  # fmt: skip

    def stack_up(seen):
        names = " ".join(" ".join(_cmdline(p)) for p in seen)
        return "redis-server" in names and "-m worker" in names and len(seen) >= 4

    children = wait_for_children(producer, stack_up)
    assert [name for name in os.listdir(temp) if name.startswith(FOLDER_PREFIX)] != []
    time.sleep(1)  # inside the measured rounds by now
    stop_and_check(producer, signal.SIGTERM, False, children, temp)


def test_a_closed_stdout_ends_quietly(tmp_path):
    read, write = os.pipe()
    os.close(read)  # nobody will ever read: the first write fails
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "producer", "list"], stdout=write, stderr=subprocess.PIPE, env=env, timeout=60
    )
    os.close(write)
    assert (proc.returncode, proc.stderr) == (141, b"")


def test_list_into_head_prints_no_traceback():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        f"{sys.executable} -m producer list | head -2",
        shell=True,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert len(proc.stdout.splitlines()) == 2 and proc.stderr == ""


def test_folders_of_runs_that_ended_are_removed_and_others_kept(tmp_path):
    me = psutil.Process()
    ended = subprocess.Popen(["true"])
    ended.wait()
    cases = {
        "dead": f"{ended.pid} 12345.0\n",
        "alive": f"{me.pid} {me.create_time()!r}\n",
        "reused": f"{me.pid} {me.create_time() - 100!r}\n",  # the owner's id now names another process
        "garbled": "not an owner\n",
        "unowned": None,
    }
    for name, owner in cases.items():
        folder = tmp_path / f"{FOLDER_PREFIX}{name}"
        folder.mkdir()
        (folder / "redis.log").write_text("...")
        if owner is not None:
            (folder / folders.OWNER_FILE).write_text(owner)
    (tmp_path / "poolbench-other-dead").mkdir()
    removed = folders.remove_abandoned(FOLDER_PREFIX, parent=str(tmp_path))
    assert sorted(os.path.basename(path) for path in removed) == [
        f"{FOLDER_PREFIX}dead",
        f"{FOLDER_PREFIX}reused",
    ]
    assert sorted(os.listdir(tmp_path)) == sorted(
        ["poolbench-other-dead", *(f"{FOLDER_PREFIX}{n}" for n in ("alive", "garbled", "unowned"))]
    )


@pytest.mark.redis
def test_the_next_run_removes_the_folder_of_a_producer_killed_with_sigkill(tmp_path):
    if find_redis_server() is None:
        unavailable("no redis-server for the embedded stack")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(tmp_path)}
    up = (
        "import sys, time\n"
        "from producer.settings import Settings\n"
        "from producer.stack import EmbeddedStack\n"
        "stack = EmbeddedStack(Settings(), [], allow=[]).__enter__()\n"
        "print(stack.folder, flush=True)\n"
        "time.sleep(60)\n"
    )
    killed = subprocess.Popen([sys.executable, "-c", up], stdout=subprocess.PIPE, text=True, env=env)
    try:
        folder = killed.stdout.readline().strip()
        redis_server = psutil.Process(killed.pid).children()
        killed.kill()
        killed.wait()
        psutil.wait_procs(redis_server, timeout=10)
        assert os.path.isdir(folder)  # SIGKILL gave it no chance
    finally:
        if killed.poll() is None:
            killed.kill()
        killed.wait()
        killed.stdout.close()
    again = "from producer.settings import Settings\nfrom producer.stack import EmbeddedStack\n"
    again += "with EmbeddedStack(Settings(), [], allow=[]):\n    pass\n"
    subprocess.run([sys.executable, "-c", again], env=env, check=True, timeout=60)
    assert os.listdir(tmp_path) == []  # the dead run's folder, and the new run's own


def _cmdline(process: psutil.Process) -> list[str]:
    try:
        return process.cmdline()
    except psutil.Error:
        return []
