"""The CPU-bound load beside the echo server: none, N threads of this process, or N processes.

Each task runs the built-in ``countdown`` workload (pure-Python bytecode, no allocation,
holds the GIL) in chunks until told to stop, and counts its chunks, so the report can
show that the load really ran (chunks per second of each task's life, summed). A load
is a context manager: it returns once every task is running (start-up is never inside
a measurement) and stops them all on the way out, whatever happened, each wait bounded
by the timeout.
"""

from __future__ import annotations

import threading
import time

from producer.convoy.children import Link
from producer.errors import ConvoyError, ConvoyTimeout
from workloads.builtin import countdown

CHUNK = 50_000
"""countdown steps between two looks at the stop flag: a few milliseconds of bytecode."""


def spin(stop_is_set, counts, index: int) -> None:
    while not stop_is_set():
        countdown(CHUNK)
        counts[index] += 1


class NoLoad:
    kind = "idle"
    tasks = 0

    def __enter__(self) -> NoLoad:
        return self

    def __exit__(self, *exc) -> None:
        pass

    def chunks_per_s(self) -> float:
        return 0.0


class ThreadLoad:
    """N threads of this process, sharing its GIL with the echo server thread."""

    kind = "threads"

    def __init__(self, tasks: int, timeout: float):
        self.tasks, self.timeout = tasks, timeout
        self._stop = threading.Event()
        self._ready = threading.Barrier(tasks + 1)
        self._counts = [0] * tasks
        self._spun = [0.0] * tasks
        self._threads = [
            threading.Thread(target=self._run, args=(i,), name=f"poolbench-load-{i}", daemon=True)
            for i in range(tasks)
        ]

    def _run(self, index: int) -> None:
        try:
            self._ready.wait(self.timeout)
        except threading.BrokenBarrierError:
            return
        began = time.perf_counter()
        spin(self._stop.is_set, self._counts, index)
        self._spun[index] = time.perf_counter() - began

    def __enter__(self) -> ThreadLoad:
        try:
            for thread in self._threads:
                thread.start()
            self._ready.wait(self.timeout)
        except threading.BrokenBarrierError:
            self.close(strict=False)
            raise ConvoyTimeout(
                f"{self.tasks} load threads did not start within {self.timeout:g} s"
            ) from None
        except BaseException:
            self.close(strict=False)
            raise
        return self

    def __exit__(self, exc_type=None, *_) -> None:
        self.close(strict=exc_type is None)

    def close(self, strict: bool) -> None:
        """Stop every task; with ``strict``, raise if one would not stop."""
        self._stop.set()
        self._ready.abort()  # releases any thread still at the barrier
        deadline = time.monotonic() + self.timeout
        for thread in self._threads:
            if thread.ident is not None:
                thread.join(max(0.0, deadline - time.monotonic()))
        alive = sum(thread.is_alive() for thread in self._threads)
        if alive and strict:
            raise ConvoyError(f"{alive} load thread(s) did not stop within {self.timeout:g} s")

    def chunks_per_s(self) -> float:
        return sum(n / s for n, s in zip(self._counts, self._spun, strict=True) if s > 0)


class ProcessLoad:
    """N processes (``producer.convoy.child load``), each with its own interpreter and GIL."""

    kind = "processes"

    def __init__(self, tasks: int, timeout: float, environ: dict[str, str]):
        self.tasks, self.timeout, self.environ = tasks, timeout, environ
        self._children: list[Link] = []
        self._rates: list[float] = []

    def __enter__(self) -> ProcessLoad:
        try:
            deadline = time.monotonic() + self.timeout
            for _ in range(self.tasks):
                self._children.append(Link("load", [], self.environ))
            for child in self._children:
                if child.read_line(deadline, "start") != "ready":
                    raise ConvoyError("a load process did not say it was ready")
        except BaseException:
            self.close(strict=False)
            raise
        return self

    def __exit__(self, exc_type=None, *_) -> None:
        self.close(strict=exc_type is None)

    def close(self, strict: bool) -> None:
        """SIGTERM every task, read what each did, make sure each has ended."""
        for child in self._children:
            if child.proc.poll() is None:
                child.proc.terminate()
        deadline = time.monotonic() + self.timeout
        try:
            if strict:
                self._rates = [_rate(child.read_line(deadline, "stop")) for child in self._children]
        finally:
            killed = [child.stop(self.timeout) for child in self._children]
        if any(killed) and strict:
            raise ConvoyError(f"{sum(killed)} load process(es) did not stop within {self.timeout:g} s")

    def chunks_per_s(self) -> float:
        return sum(self._rates)


def _rate(line: str) -> float:
    verb, chunks, seconds = line.split()
    if verb != "done":
        raise ConvoyError(f"a load process said {line!r}")
    return int(chunks) / max(float(seconds), 1e-9)


def make(kind: str, tasks: int, timeout: float, environ: dict[str, str]):
    if kind == "idle":
        return NoLoad()
    if kind == "threads":
        return ThreadLoad(tasks, timeout)
    return ProcessLoad(tasks, timeout, environ)
