"""Tasks that misbehave under the local backends: real processes, real crashes, real memory.

Whatever a task does (never return, kill its process, exit, eat memory), the producer
(this test process) lives, the batch is reported task by task or stopped with one clear
error, and no child process stays behind.
"""

from __future__ import annotations

import psutil
import pytest

from producer import backends
from producer.errors import BatchTimeout, TooMuchMemory
from producer.measure.verify import check_batch
from producer.settings import Settings

LOCAL = ["sequential", "threads", "processes"]
MISBEHAVING = '''
import ctypes, os, sys, time

def never_returns(size):
    while True:
        time.sleep(0.01)

def exits(size):
    os._exit(size)

def segfaults(size):
    ctypes.string_at(0)

def crashes_once(size):
    """The first call anywhere kills its process; every later call works."""
    try:
        os.close(os.open(os.environ.get("CRASH_MARKER", "") or __file__ + ".crashed", os.O_CREAT | os.O_EXCL))
    except FileExistsError:
        return size
    os._exit(3)

def calls_sys_exit(size):
    sys.exit(size)

def grows(size):
    out = []
    for i in range(size):
        out.append(i ** 2)
    return len(out)
'''


@pytest.fixture
def bad(tmp_path):
    """``bad("exits")``: the spec of one of the misbehaving functions above."""
    path = tmp_path / "misbehaving.py"
    path.write_text(MISBEHAVING)
    return lambda name: f"{path}:{name}"


def children_of_this_process(but: frozenset[int] = frozenset()) -> list[psutil.Process]:
    """Live children, except those in ``but`` (a session's Redis and workers, say)."""
    alive = []
    for child in psutil.Process().children(recursive=True):
        if child.pid in but:
            continue
        try:
            if child.status() != psutil.STATUS_ZOMBIE:
                alive.append(child)
        except psutil.NoSuchProcess:
            pass
    return alive


@pytest.fixture(autouse=True)
def earlier_children():
    """The children this process had before the test; none of the test's may remain after it."""
    before = frozenset(p.pid for p in children_of_this_process())
    yield before
    gone, alive = psutil.wait_procs(children_of_this_process(but=before), timeout=10)
    assert alive == [], [p.cmdline() for p in alive]


@pytest.mark.parametrize("name", LOCAL)
def test_a_task_that_never_returns_is_abandoned_at_the_timeout_and_named(name, bad, earlier_children):
    # 2 s: every task handed out has said it began (a thread's start comes back over a pipe)
    # long before the timeout names the running ones, even on a busy machine
    with backends.create(name, Settings(concurrency=2, timeout=2.0)) as backend:
        started = children_of_this_process(but=earlier_children)
        assert len(started) == (2 if name == "processes" else 1)
        with pytest.raises(BatchTimeout) as caught:
            backend.run_batch(bad("never_returns"), 1, 3)
        error = caught.value
        assert (error.completed, error.tasks) == (0, 3)
        running = {"sequential": [0], "threads": [0, 1], "processes": [0, 1]}[name]  # fair dispatch
        assert error.running == running
        named = f"{'tasks' if len(running) > 1 else 'task'} {', '.join(map(str, running))}"
        assert str(error).endswith(f"still running, and stopped: {named}")
        gone, alive = psutil.wait_procs(started, timeout=10)
        assert alive == []  # stopped at once, not at the end of the run


@pytest.mark.parametrize("name", LOCAL)
def test_a_task_that_kills_its_process_is_reported_and_the_backend_goes_on(name, bad, tmp_path, monkeypatch):
    monkeypatch.setenv("CRASH_MARKER", str(tmp_path / "crashed"))
    with backends.create(name, Settings(concurrency=2, timeout=60)) as backend:
        records = backend.run_batch(bad("crashes_once"), 7, 4)
        problems = check_batch(records, 4, None)[1]
        # one task killed its process; under threads, the task running beside it died with it
        assert 1 <= len(problems) <= (2 if name == "threads" else 1), problems
        assert all(p.startswith("task ") and " killed its process (exit code 3)" in p for p in problems)
        assert sorted(r["index"] for r in records) == [0, 1, 2, 3]
        ok = [r for r in records if "error" not in r]
        assert len(ok) == 4 - len(problems) and all(r["summary"] == {"value": 7} for r in ok)
        after = backend.run_batch(bad("crashes_once"), 7, 4)  # a replacement process took over
        assert check_batch(after, 4, [{"value": 7}] * 4)[1] == []


def test_a_segfault_is_named_by_its_signal(bad):
    with backends.create("processes", Settings(concurrency=2, timeout=60)) as backend:
        problems = check_batch(backend.run_batch(bad("segfaults"), 0, 2), 2, None)[1]
    assert problems == [
        "task 0 killed its process (signal 11, SIGSEGV)",
        "task 1 killed its process (signal 11, SIGSEGV)",
    ]


def test_when_every_task_kills_its_process_the_batch_stops_replacing_them(bad):
    with backends.create("sequential", Settings(timeout=60)) as backend:
        records = backend.run_batch(bad("exits"), 1, 10)
    problems = check_batch(records, 10, None)[1]
    assert problems[:4] == [f"task {i} killed its process (exit code 1)" for i in range(4)]
    assert problems[4:] == [f"task {i} not run: 4 processes died in this batch" for i in range(4, 10)]


def test_several_threads_share_the_blame_for_their_process(bad):
    with backends.create("threads", Settings(concurrency=2, timeout=60)) as backend:
        records = backend.run_batch(bad("exits"), 2, 2)
    messages = sorted(r["error"]["problem"] for r in records)
    assert all(" killed its process (exit code 2)" in m for m in messages)
    assert any("running beside it did" in m for m in messages) or len(messages) == 2


@pytest.mark.parametrize("name", LOCAL)
def test_sys_exit_in_a_task_is_that_tasks_error(name, bad):
    with backends.create(name, Settings(concurrency=2, timeout=60)) as backend:
        records = backend.run_batch(bad("calls_sys_exit"), 4, 3)
    assert [r["error"] for r in sorted(records, key=lambda r: r["index"])] == [
        {"type": "SystemExit", "message": "sys.exit(4)"}
    ] * 3


@pytest.mark.parametrize("name", LOCAL)
def test_a_call_that_outgrows_the_memory_guard_stops_the_run(name, bad):
    with backends.create(name, Settings(concurrency=2, timeout=60, memory_limit=128)) as backend:
        with pytest.raises(TooMuchMemory) as caught:
            backend.run_batch(bad("grows"), 10**10, 2)
    message = str(caught.value)
    assert message.startswith(f"{name}: task")
    assert "past the memory guard" in message and "lower --size" in message
