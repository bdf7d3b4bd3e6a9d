"""What runs inside the child process of a local backend: tasks, as the producer sends them.

The producer never runs a workload in its own process (see :mod:`producer.backends.supervised`
for why). A child starts, says it is ready, then serves its pipe::

    producer -> child   ("run", spec, size, [index, ...])   run these, in this order
    child -> producer   ("ready", {"pid", "python"})  once, after start-up
                        ("unready", message)          instead, when it cannot serve; it then exits
                        ("python", facts)             the GIL came back on (a free-threaded build)
                        ("started", index)            as each task begins, with several threads
                        ("done", record)              workloads.run_task's record, as it is

``python`` is :func:`workloads.interpreter` as seen here: the interpreter that runs the
tasks, which under ``--python`` is not the producer's.

With one thread (sequential, and each process of ``processes``), one worker thread runs
every task, one after another, while the main thread only waits for it: the baseline is
"every call, one after another, in one thread" exactly, and that thread is a started
thread as the strategies' are, never the process's main thread. On a free-threaded 3.13
the same loop ran 1.2 to 2.5x slower in a main thread than in a started one (docs/
BENCHMARKS.md), which inflated every speedup over a main-thread baseline (issue 15, item
8). With N threads (``threads``), the main thread only reads the pipe and N threads run
the tasks, sharing the child's one GIL as threads of any one
process do (or none, in a free-threaded build). With N subinterpreters (``interpreters``)
they run in an ``InterpreterPoolExecutor`` (:mod:`producer.backends.subinterpreters`).

The child ignores SIGINT and SIGHUP (a terminal's Ctrl-C reaches the whole process group;
the producer decides, and stops its children itself), dies of SIGTERM, dies with the producer (Linux
``PR_SET_PDEATHSIG``), and shares one malloc arena as the producer does, for the same
reason (:func:`producer.measure.host.share_malloc_arena`).

Run under another interpreter, it is a command (``python -m producer.backends.child FD
...``, see :mod:`producer.backends.launch`) and imports nothing beyond the standard
library and poolbench's own packages, so that interpreter needs nothing installed.
"""

from __future__ import annotations

import os
import queue
import signal
import sys
import threading

from producer.measure.host import share_malloc_arena
from producer.services.process import die_with_parent
from workloads import gil, interpreter, run_task

THREADS, INTERPRETERS = "threads", "interpreters"
"""How a child with several workers runs them."""


def serve(conn, threads: int, producer_pid: int, mode: str = THREADS, startup_timeout: float = 60.0) -> None:
    """The child's entry point: set up, say ready, run tasks until told to stop or orphaned."""
    die_with_parent(producer_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the producer's handler, copied by fork
    gil.watch()
    share_malloc_arena()
    send = _Sender(conn)
    if mode == INTERPRETERS:
        from producer.backends import subinterpreters

        pool = subinterpreters.Pool(threads, send)
        if (failure := pool.check(startup_timeout)) is not None:
            send(("unready", failure))
            os._exit(1)  # a subinterpreter may be spinning; it cannot be stopped any other way
        send(("ready", {"pid": os.getpid(), "python": pool.python}))
        _feed(conn, pool.submit)
        pool.close()
        os._exit(0)
    send(("ready", {"pid": os.getpid(), "python": interpreter()}))
    if threads == 1:
        _serve_in_one_started_thread(conn, send)
    else:
        _serve_with_threads(conn, send, threads)


def _serve_in_one_started_thread(conn, send) -> None:
    """One started thread reads the pipe and runs every task; the main thread waits for it."""
    worker = threading.Thread(target=_serve_in_this_thread, args=(conn, send), daemon=True)
    worker.start()
    worker.join()


def _serve_in_this_thread(conn, send) -> None:
    watch = _GilWatch(send)
    while (message := _receive(conn)) is not None:
        _, spec, size, indexes = message
        for index in indexes:
            record = _run(spec, size, index)
            watch.check()
            send(("done", record))


def _serve_with_threads(conn, send, threads: int) -> None:
    tasks: queue.SimpleQueue = queue.SimpleQueue()
    watch = _GilWatch(send)

    def work() -> None:
        while (task := tasks.get()) is not None:
            spec, size, index = task
            send(("started", index))
            record = _run(spec, size, index)
            watch.check()
            send(("done", record))

    for _ in range(threads):
        threading.Thread(target=work, daemon=True).start()
    _feed(conn, lambda spec, size, index: tasks.put((spec, size, index)))
    os._exit(0)  # a task may be stuck in a thread; the producer has stopped waiting for it


def _feed(conn, submit) -> None:
    """Hand every task the producer sends to ``submit(spec, size, index)``, until it says stop."""
    while (message := _receive(conn)) is not None:
        _, spec, size, indexes = message
        for index in indexes:
            submit(spec, size, index)


def _run(spec: str, size: int, index: int) -> dict:
    try:
        return run_task(spec, size, index)
    except SystemExit as exc:  # in a thread it would end only that thread, and the task with it
        return {"index": index, "error": {"type": "SystemExit", "message": f"sys.exit({exc.code!r})"}}


class _GilWatch:
    """Tell the producer, once, when a task's imports turned the GIL back on."""

    def __init__(self, send):
        self.send = send
        self.was = gil.enabled()

    def check(self) -> None:
        if not self.was and gil.enabled():
            self.was = True
            self.send(("python", interpreter()))


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


def main(argv: list[str]) -> None:
    """``python -m producer.backends.child FD PRODUCER_PID THREADS MODE STARTUP_TIMEOUT``."""
    from multiprocessing.connection import Connection

    fd, producer_pid, threads, mode, startup_timeout = argv
    serve(Connection(int(fd)), int(threads), int(producer_pid), mode, float(startup_timeout))


if __name__ == "__main__":
    main(sys.argv[1:])
