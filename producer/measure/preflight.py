"""Preflight: call the workload before any pool starts, and choose its size.

Every run starts here. The workload is called in a child process of its own, so that a
function that crashes, exits or eats all memory takes down that child and not the
producer, and the answer is one line before any work starts:

- it resolves and its signature fits ``fn(size)`` or ``fn(size, out_list)``;
- one call at the chosen size succeeds, is timed, and returns a JSON-serialisable
  summary; a second call returns the same summary (the baseline check needs that);
- with ``size="auto"`` (pyperf calibrates its loops the same way) the size grows until
  one call takes about ``call_s``, and a memory guard stops a size whose call would
  exhaust memory;
- native thread pools the work loaded (BLAS, OpenMP) are listed with ``threadpoolctl``:
  they run threads of their own, which change what every backend measures.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import threading
import time
from dataclasses import dataclass, field

import psutil

from producer.errors import PreflightFailed
from producer.services.process import die_with_parent
from workloads.summary import NotSerialisable

CALIBRATE_MAX_S = 10.0
"""Calibration stops growing the size after this long, keeping the size reached."""
GROWTH = 8
"""Each calibration step multiplies the size by up to this much."""
MEMORY_SHARE = 0.5
"""One call may grow the child's memory by at most this share of the memory available."""
_WATCH_S = 0.02


@dataclass
class Preflight:
    size: int
    call_s: float
    """Wall time of one call at ``size``, alone, in the preflight child."""
    calibrated: bool
    steps: list[tuple[int, float]] = field(default_factory=list)
    """(size, seconds) of each calibration call."""
    rss_growth_bytes: int = 0
    native_threads: list[dict] = field(default_factory=list)
    """threadpoolctl's view: library, API, number of threads, for each pool loaded."""

    def as_dict(self) -> dict:
        return {
            "size": self.size,
            "call_s": self.call_s,
            "calibrated": self.calibrated,
            "steps": [list(step) for step in self.steps],
            "rss_growth_bytes": self.rss_growth_bytes,
            "native_threads": self.native_threads,
        }


def memory_budget(concurrency: int = 1) -> int:
    """What one call may grow by: a share of the memory available, split over the calls
    that run at once."""
    return int(psutil.virtual_memory().available * MEMORY_SHARE / max(1, concurrency))


def run(
    spec: str,
    size: int | None,
    *,
    call_s: float,
    timeout: float,
    concurrency: int = 1,
    memory_limit_mib: int | None = None,
) -> Preflight:
    """Resolve, call and (``size=None``) calibrate ``spec`` in a child; PreflightFailed on failure.

    One call may grow memory by ``memory_limit_mib`` (``--memory-limit``), else by its
    share of the memory available with ``concurrency`` calls at once."""
    budget = memory_limit_mib * 2**20 if memory_limit_mib else memory_budget(concurrency)
    context = multiprocessing.get_context(
        "fork" if "fork" in multiprocessing.get_all_start_methods() else None
    )
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(send, os.getpid(), spec, size, call_s, budget), daemon=True)
    child.start()
    send.close()
    deadline = time.monotonic() + timeout + (CALIBRATE_MAX_S if size is None else 0)
    try:
        while not receive.poll(0.05):
            if not child.is_alive() and not receive.poll(0):
                raise PreflightFailed(
                    f"the workload killed its process during preflight ({_how(child.exitcode)})"
                )
            if time.monotonic() > deadline:
                raise PreflightFailed(
                    f"one call of the workload at size {size if size is not None else 'auto'} took longer "
                    f"than --timeout {timeout:g} s during preflight; lower --size or raise --timeout"
                )
        try:
            kind, payload = receive.recv()
        except EOFError:
            child.join(1)
            raise PreflightFailed(
                f"the workload killed its process during preflight ({_how(child.exitcode)})"
            ) from None
    finally:
        if child.is_alive():
            child.kill()
        child.join(5)
        receive.close()
    if kind == "error":
        raise PreflightFailed(payload)
    return Preflight(**payload)


def _how(exitcode: int | None) -> str:
    if exitcode is None:
        return "it did not exit"
    return f"killed by signal {-exitcode}" if exitcode < 0 else f"exit code {exitcode}"


def _child(send, parent: int, spec: str, size: int | None, call_s: float, budget: int) -> None:
    """In the child: do the checks, send ("ok", fields) or ("error", one line)."""
    die_with_parent(parent)
    try:
        outcome = ("ok", _check(send, spec, size, call_s, budget))
    except PreflightFailed as exc:
        outcome = ("error", str(exc))
    except NotSerialisable as exc:
        outcome = ("error", str(exc))
    except MemoryError:
        outcome = ("error", "the workload ran out of memory during preflight; lower --size")
    except BaseException as exc:  # noqa: BLE001 - SystemExit and the like are the workload's too
        outcome = ("error", f"the workload raised {type(exc).__name__}: {exc}".rstrip(": "))
    send.send(outcome)
    send.close()
    os._exit(0)  # no atexit handlers of the parent's, no flushing of its buffers twice


class _MemoryWatch:
    """Kill this process when its resident memory grows past ``budget`` over its start."""

    def __init__(self, budget: int, send):
        self.me = psutil.Process()
        self.start = self.me.memory_info().rss
        self.limit = self.start + budget
        self.peak = self.start
        self.size = 0
        self.send = send
        self._stop = threading.Event()
        threading.Thread(target=self._watch, daemon=True).start()

    def _watch(self) -> None:
        while not self._stop.wait(_WATCH_S):
            rss = self.me.memory_info().rss
            self.peak = max(self.peak, rss)
            if rss > self.limit:
                grown = (rss - self.start) / 2**20
                self.send.send(
                    (
                        "error",
                        f"one call at size {self.size:,} grew memory past {grown:,.0f} MiB "
                        "(--memory-limit, or its share of the memory available with --concurrency "
                        "calls at once) and was stopped; lower --size",
                    )
                )
                os._exit(0)

    def stop(self) -> None:
        self._stop.set()


def _check(send, spec: str, size: int | None, call_s: float, budget: int) -> dict:
    import workloads

    try:
        loaded_before = _native_threads()  # inherited by fork: the parent's, not the work's
        func = workloads.resolve(spec).func
    except workloads.WorkloadError as exc:
        raise PreflightFailed(str(exc)) from None
    watch = _MemoryWatch(budget, send)
    return _calls(func, size, call_s, watch, loaded_before)


def _timed(func, size: int, watch: _MemoryWatch) -> tuple[dict, float]:
    watch.size = size
    t0 = time.perf_counter()
    summary = func(size)
    elapsed = time.perf_counter() - t0
    try:
        json.dumps(summary)
    except (TypeError, ValueError) as exc:
        raise PreflightFailed(f"the workload's result cannot travel as JSON: {exc}") from None
    return summary, elapsed


def _calls(func, size: int | None, call_s: float, watch: _MemoryWatch, loaded_before: list) -> dict:
    steps: list[tuple[int, float]] = []
    calibrated = size is None
    if calibrated:
        size = _calibrate(func, call_s, watch, steps)
    first, elapsed = _timed(func, size, watch)
    again, elapsed_again = _timed(func, size, watch)
    if first != again:
        raise PreflightFailed(
            f"two calls at size {size:,} returned different results ({first} != {again}); poolbench "
            "verifies every backend against the baseline, so the workload must be deterministic"
        )
    watch.stop()
    return {
        "size": size,
        "call_s": min(elapsed, elapsed_again),
        "calibrated": calibrated,
        "steps": steps,
        "rss_growth_bytes": max(0, watch.peak - watch.start),
        "native_threads": [t for t in _native_threads() if t not in loaded_before],
    }


def _calibrate(func, call_s: float, watch: _MemoryWatch, steps: list) -> int:
    """Grow the size geometrically, then aim at ``call_s`` by linear extrapolation."""
    began = time.perf_counter()
    size = 1
    while True:
        before = watch.peak = watch.me.memory_info().rss
        _, elapsed = _timed(func, size, watch)
        steps.append((size, elapsed))
        factor = min(GROWTH, call_s / max(elapsed, 1e-9))
        grown = max(watch.peak - before, 1)
        factor = min(factor, (watch.limit - watch.start) / 4 / grown)  # stay well inside the guard
        if elapsed >= call_s * 0.8 or factor < 1.2 or time.perf_counter() - began > CALIBRATE_MAX_S:
            return max(size, int(size * min(factor, 1.25))) if elapsed < call_s else size
        size = max(size + 1, int(size * factor))


def _native_threads() -> list[dict]:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    return [
        {
            "library": info.get("prefix"),
            "api": info.get("internal_api") or info.get("user_api"),
            "threads": info.get("num_threads"),
            "filepath": info.get("filepath"),
        }
        for info in threadpool_info()
    ]
