"""What runs inside the child process of a local backend: tasks, as the producer sends them.

The producer never runs a workload in its own process (see :mod:`producer.backends.supervised`
for why). A child starts, says it is ready, then serves its pipe::

    producer -> child   ("run", spec, size, [index, ...])   run these, in this order
    child -> producer   ("ready", pid)                once, after start-up
                        ("started", index)            as each task begins, with several threads
                        ("done", record)              workloads.run_task's record, as it is

With one thread (sequential, and each process of ``processes``), the child's main thread
runs every task itself, one after another: the baseline is "every call, one after
another, in one thread" exactly. With N threads (``threads``), the main thread only reads
the pipe and N threads run the tasks, sharing the child's one GIL as threads of any one
process do.

The child ignores SIGINT and SIGHUP (a terminal's Ctrl-C reaches the whole process group;
the producer decides, and stops its children itself), dies of SIGTERM, dies with the producer (Linux
``PR_SET_PDEATHSIG``), and shares one malloc arena as the producer does, for the same
reason (:func:`producer.measure.host.share_malloc_arena`).
"""

from __future__ import annotations

import os
import queue
import signal
import threading

from producer.measure.host import share_malloc_arena
from producer.services.process import die_with_parent
from workloads import run_task


def serve(conn, threads: int, producer_pid: int) -> None:
    """The child's entry point: set up, say ready, run tasks until told to stop or orphaned."""
    _die_with(producer_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the producer's handler, copied by fork
    share_malloc_arena()
    send = _Sender(conn)
    send(("ready", os.getpid()))
    if threads == 1:
        _serve_in_this_thread(conn, send)
    else:
        _serve_with_threads(conn, send, threads)


def _serve_in_this_thread(conn, send) -> None:
    while (message := _receive(conn)) is not None:
        _, spec, size, indexes = message
        for index in indexes:
            send(("done", _run(spec, size, index)))


def _serve_with_threads(conn, send, threads: int) -> None:
    tasks: queue.SimpleQueue = queue.SimpleQueue()

    def work() -> None:
        while (task := tasks.get()) is not None:
            spec, size, index = task
            send(("started", index))
            send(("done", _run(spec, size, index)))

    for _ in range(threads):
        threading.Thread(target=work, daemon=True).start()
    while (message := _receive(conn)) is not None:
        _, spec, size, indexes = message
        for index in indexes:
            tasks.put((spec, size, index))
    os._exit(0)  # a task may be stuck in a thread; the producer has stopped waiting for it


def _run(spec: str, size: int, index: int) -> dict:
    try:
        return run_task(spec, size, index)
    except SystemExit as exc:  # in a thread it would end only that thread, and the task with it
        return {"index": index, "error": {"type": "SystemExit", "message": f"sys.exit({exc.code!r})"}}


def _receive(conn):
    """The next message; None when the producer says stop or has gone."""
    try:
        message = conn.recv()
    except (EOFError, OSError):
        return None
    return None if message == ("stop",) else message


class _Sender:
    """Send on the pipe from any thread; exit quietly if the producer has gone."""

    def __init__(self, conn):
        self.conn = conn
        self.lock = threading.Lock()

    def __call__(self, message) -> None:
        try:
            with self.lock:
                self.conn.send(message)
        except OSError:
            os._exit(0)


def _die_with(producer_pid: int) -> None:
    """Ask the kernel for SIGKILL when the producer, our parent, dies."""
    die_with_parent(producer_pid)
