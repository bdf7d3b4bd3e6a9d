"""Fair dispatch (issue 15, item 1): every idle worker gets a task before any gets a second.

The first tests drive the pool's hand-out on a scripted pool (children that only record
what they are sent); the last one runs ``sleep`` on real processes."""

from __future__ import annotations

from producer import backends
from producer.backends.handles import Batch, Handle, Pending
from producer.backends.supervised import ChildPool
from producer.settings import Settings


class _Pipe:
    def __init__(self):
        self.sent = []

    def send(self, message):
        self.sent.append(message)


def _pool(processes: int, threads: int = 1) -> ChildPool:
    pool = ChildPool(launcher=None, processes=processes, threads=threads, growth_limit_mib=1024)
    pool.children = [
        Handle(process=None, conn=_Pipe(), threads=threads, ready=True) for _ in range(processes)
    ]
    return pool


def _hand_out(pool: ChildPool, tasks: int) -> Batch:
    batch = Batch(Pending(tasks), tasks)
    pool._hand_out(batch, "sleep", 1)
    return batch


def test_tasks_equal_to_processes_give_every_process_one():
    pool = _pool(4)
    _hand_out(pool, 4)
    assert [list(c.sent) for c in pool.children] == [[0], [1], [2], [3]]


def test_fewer_tasks_than_twice_the_processes_never_leave_one_idle():
    pool = _pool(10)
    _hand_out(pool, 10)  # the default shape: --tasks 10 --concurrency 10
    assert all(len(c.sent) == 1 for c in pool.children)
    pool = _pool(4)
    _hand_out(pool, 6)
    assert sorted(len(c.sent) for c in pool.children) == [1, 1, 2, 2]


def test_the_window_fills_only_once_every_process_has_a_task():
    pool = _pool(3)
    batch = _hand_out(pool, 20)
    assert [len(c.sent) for c in pool.children] == [2, 2, 2] and len(batch.pending) == 14
    first = [c.sent[0] for c in pool.children]
    assert first == [0, 1, 2]  # the first task of each is the first round of hand-out


def test_a_starting_child_holds_back_the_second_tasks():
    pool = _pool(3)
    pool.children[2].ready = False  # a replacement, still starting
    batch = _hand_out(pool, 6)
    assert [len(c.sent) for c in pool.children] == [1, 1, 0] and len(batch.pending) == 4


def test_a_threaded_child_gets_one_task_per_thread_then_its_window():
    pool = _pool(1, threads=4)
    batch = _hand_out(pool, 40)
    assert len(pool.children[0].sent) == pool.window and len(batch.pending) == 40 - pool.window


def test_sleep_at_tasks_equal_to_concurrency_runs_one_task_in_every_process():
    with backends.create("processes", Settings(concurrency=4)) as backend:
        records = backend.run_batch("sleep", 60, 4)
    per_pid: dict[int, int] = {}
    for record in records:
        per_pid[record["pid"]] = per_pid.get(record["pid"], 0) + 1
    assert sorted(per_pid.values()) == [1, 1, 1, 1]
