"""Supervised child processes that run the local backends' tasks, so nothing can take the producer down.

Every local backend runs its tasks in child processes of the producer, never in the
producer itself: ``sequential`` in one child with one thread, ``threads`` in one child
with N threads, ``processes`` in N children with one thread each. The producer's main
thread only hands out tasks and waits on the children's pipes and sentinels, so:

- a batch that overruns --timeout is abandoned at once: its children are killed, and
  :class:`BatchTimeout` names the tasks that were still running;
- a task that kills its process (``os._exit``, a segfault) is reported within
  milliseconds as "task i killed its process (exit code, signal)", the child is replaced
  and the batch goes on, and the producer lives;
- Ctrl-C (SIGINT, SIGTERM, SIGHUP) interrupts the wait at once, whatever a task does;
- a call whose process grows past the memory guard is stopped (:class:`TooMuchMemory`).

Why this stays honest. The baseline still means "every call, one after another, in
one thread": one thread of one interpreter runs them, and that interpreter is not
shared with the producer's own threads (Celery's, the pipes'), which only makes the
baseline cleaner. ``threads`` still share one GIL, as threads of any one process do.
CPU time is the process tree's, as before; the children are the tree's members, read to
the nanosecond (:mod:`producer.measure.cputime`). The cost is one pipe round trip per
task (tens of microseconds), which every local backend pays alike, and one process
start per backend, timed as start-up. The first call of a run is the baseline's first
warm-up task: a workload that crashes, hangs or eats memory from its first call is
caught there, in a child, before any other backend runs it.

Why not ``concurrent.futures.ProcessPoolExecutor``: when a worker dies it fails every
pending task with BrokenProcessPool, without saying which task killed it, and neither it
nor ``multiprocessing.Pool`` (which silently replaces the dead worker and loses its task)
can stop a running task at --timeout. Here the producer knows which task each child runs.

Each process of ``processes`` holds up to two tasks: the one it runs and the next, so that
it never waits for the producer between two calls; every call of a batch is the same
call, so a task queued behind another costs no fairness (unlike Celery's prefetch with
tasks of mixed lengths). The second task is handed out only once every process has one
(fair dispatch): with ``--tasks`` at most ``--concurrency`` every process runs a task,
none runs two (before, 4 tasks on 4 processes ran as 2 x 2). A lone child (sequential,
threads) holds up to 16, or two per thread. Measured here on a loaded 2-core machine,
this costs about 30 us per task, against about 10 us for the thread pool inside the
producer that ``sequential`` was.
"""

from __future__ import annotations

import selectors
import time

from producer.backends.failures import died, not_run, tasks_named
from producer.backends.handles import (
    Batch,
    Handle,
    Pending,
    default_budget,
    how,
    kill,
    release,
    rss,
    send,
)
from producer.errors import BatchTimeout, StackError, TooMuchMemory
from producer.measure.records import Records

MIN_GROWTH_MIB = 64
"""Each process may grow by at least this much, however many share the budget."""
WATCH_S = 0.05
"""How often the memory of busy children is read, at the least."""
DEATHS_PER_BATCH = 3
"""After this many children died in one batch (beyond one per process), its other tasks are not run."""
STOP_S = 2.0
"""How long idle children may take to stop, and killed ones to be reaped, when a pool closes."""
SINGLE_CHILD_WINDOW = 16
"""A lone child (sequential, threads) may hold this many tasks: nobody else could take them."""


class ChildPool:
    """``processes`` children of ``threads`` threads each, started and stopped as one.

    ``launcher.start(threads)`` starts one child (:mod:`producer.backends.launch`)."""

    def __init__(self, launcher, processes: int, threads: int, growth_limit_mib: int | None = None):
        self.launcher = launcher
        self.processes = processes
        self.threads = threads
        budget = growth_limit_mib * 2**20 if growth_limit_mib else default_budget()
        self.growth_limit = max(budget // processes, MIN_GROWTH_MIB * 2**20)
        self.window = 2 * threads if processes > 1 else max(2 * threads, SINGLE_CHILD_WINDOW)
        self.children: list[Handle] = []
        self.python: dict | None = None
        """The interpreter that runs the tasks, as the children say (the GIL's state included)."""
        self._next_watch = 0.0
        self._selector = selectors.DefaultSelector()

    def start(self, timeout: float) -> None:
        """Start every child and wait until each says it is ready (Ctrl-C works meanwhile)."""
        deadline = time.monotonic() + timeout
        for _ in range(self.processes):
            self._spawn()
        while not all(child.ready for child in self.children):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise StackError(f"local worker processes did not start within {timeout:g} s")
            for child, has_message in self._wait(remaining):
                if not self._receive(child, has_message, on_done=None):
                    raise StackError(
                        child.failure or f"a local worker process exited during start-up ({how(child)})"
                    )

    def run(self, name: str, spec: str, size: int, tasks: int, timeout: float, on_task=None, into=None):
        """Run ``tasks`` calls, appending their records to ``into`` (a new :class:`Records`
        without one); return it, or raise BatchTimeout / TooMuchMemory.

        ``on_task()`` is called as each task's record arrives (for progress)."""
        batch = Batch(Pending(tasks), tasks, Records() if into is None else into)
        deadline = time.monotonic() + timeout
        self._hand_out(batch, spec, size)
        while len(batch.records) < tasks:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                running = sorted(i for child in self.children for i in child.running)
                self.close()  # the late tasks cannot be stopped any other way
                raise BatchTimeout(name, len(batch.records), tasks, timeout, running=running)
            for child, has_message in self._wait(min(remaining, self._watch_s())):
                if not self._receive(child, has_message, on_done=_done(batch.records, on_task)):
                    self._replace(child, batch)
            self._check_memory(name)
            self._hand_out(batch, spec, size)
        return batch.records

    def close(self) -> None:
        """Stop every child: idle ones are told to, busy ones are killed. Safe to call twice."""
        children, self.children = self.children, []
        for child in children:
            self._forget(child)
            if child.sent:
                kill(child)
            else:
                send(child, ("stop",))
        deadline = time.monotonic() + STOP_S
        interrupted: BaseException | None = None
        for child in children:
            for wait_s in (deadline - time.monotonic(), STOP_S):  # then SIGKILL, which is never refused
                try:
                    child.process.join(max(0.0, wait_s) if interrupted is None else 0.0)
                except KeyboardInterrupt as exc:  # another Ctrl-C: no more patience, but no orphans
                    interrupted = exc
                if child.process.exitcode is not None:
                    break
                kill(child)
            release(child)
        self._selector.close()
        self._selector = selectors.DefaultSelector()
        if interrupted is not None:
            raise interrupted

    # -- the parts

    def _spawn(self) -> Handle:
        process, ours = self.launcher.start(self.threads)
        child = Handle(process, ours, self.threads)
        self.children.append(child)
        self._selector.register(ours.fileno(), selectors.EVENT_READ, child)
        self._selector.register(process.sentinel, selectors.EVENT_READ, child)
        return child

    def _forget(self, child: Handle) -> None:
        for handle in (child.conn.fileno(), child.process.sentinel):
            try:
                self._selector.unregister(handle)
            except (KeyError, ValueError, OSError):
                pass

    def _wait(self, timeout: float) -> list[tuple[Handle, bool]]:
        """(child, whether its pipe is readable) for each child with a message or an exit.

        Ctrl-C interrupts the wait. A child's last messages are in its pipe before its exit
        shows, so a pipe is read to its end (EOF) before its child is taken for dead.
        """
        found: dict[Handle, bool] = {}
        for key, _ in self._selector.select(max(0.0, timeout)):
            child = key.data
            found[child] = found.get(child, False) or key.fd == child.conn.fileno()
        return list(found.items())

    def _receive(self, child: Handle, has_message: bool, on_done) -> bool:
        """Read one message from ``child``; False if it has died."""
        if not has_message:
            return False
        try:
            kind, value = child.conn.recv()
        except (EOFError, OSError):
            return False
        if kind == "ready":
            child.ready = True
            child.rss0 = rss(child)
            self.python = self.python or value["python"]
        elif kind == "python":  # the GIL came back on
            self.python = value
        elif kind == "unready":
            child.failure = value
            return False
        elif kind == "started":
            child.started.add(value)
        elif kind == "done":
            if child.threads > 1:
                child.started.discard(value["index"])
            child.sent.remove(value["index"])
            on_done(value)
        return True

    def _hand_out(self, batch: Batch, spec: str, size: int) -> None:
        """Give every idle thread of every ready child a task, and only then top children up
        to their window, in one message per child.

        Fair dispatch: no child holds a second task while another child (ready or starting)
        has an idle thread, so ``tasks <= concurrency`` runs every task at once."""
        given: dict[int, list[int]] = {id(child): [] for child in self.children}
        for child in self.children:  # first pass: one task per idle thread
            if child.ready:
                for _ in range(min(max(0, child.threads - len(child.sent)), len(batch.pending))):
                    given[id(child)].append(batch.pending.popleft())
        if batch.pending and all(
            c.ready and len(c.sent) + len(given[id(c)]) >= c.threads for c in self.children
        ):
            for child in self.children:  # second pass: the window, once no thread is idle
                room = self.window - len(child.sent) - len(given[id(child)])
                for _ in range(min(max(0, room), len(batch.pending))):
                    given[id(child)].append(batch.pending.popleft())
        for child in self.children:
            if indexes := given[id(child)]:
                child.sent.extend(indexes)
                send(child, ("run", spec, size, indexes))

    def _replace(self, dead: Handle, batch: Batch) -> None:
        """Record the tasks that died with ``dead``, put back those it had not begun, start another."""
        dead.process.join(5.0)
        self.children.remove(dead)
        self._forget(dead)
        batch.deaths += 1
        running = dead.running
        for index in running:
            batch.records.append(
                died(index, dead.process.exitcode, others=[i for i in running if i != index])
            )
        release(dead)
        batch.pending.extendleft(reversed([i for i in dead.sent if i not in running]))
        if batch.deaths >= DEATHS_PER_BATCH + self.processes:
            while batch.pending:
                batch.records.append(not_run(batch.pending.popleft(), batch.deaths))
        if batch.pending or len(self.children) < self.processes:
            self._spawn()

    def _watch_s(self) -> float:
        return max(WATCH_S, 0.002 * len(self.children))

    def _check_memory(self, name: str) -> None:
        now = time.monotonic()
        if now < self._next_watch:
            return
        self._next_watch = now + self._watch_s()
        for child in self.children:
            if not child.sent or not child.ready:
                continue
            grown = rss(child) - child.rss0
            if grown > self.growth_limit:
                kill(child)
                tasks = child.running
                raise TooMuchMemory(
                    f"{name}: {tasks_named(tasks)} grew {'their' if len(tasks) > 1 else 'its'} process by "
                    f"{grown / 2**20:,.0f} MiB, "
                    f"past the memory guard of {self.growth_limit / 2**20:,.0f} MiB per process, and was "
                    "stopped; lower --size, or raise --memory-limit"
                )


def _done(records: Records, on_task):
    """Keep a task's record, and tell whoever wants to know."""
    if on_task is None:
        return records.append

    def done(record) -> None:
        records.append(record)
        on_task()

    return done
