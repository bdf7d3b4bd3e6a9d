"""The ``interpreters`` backend's side in its child: an ``InterpreterPoolExecutor``.

Each worker of the pool is a subinterpreter (PEP 684, PEP 734) with a GIL of its own, in
one process, so pure-Python work runs in parallel as in a pool of processes. The pool
comes from the standard library from 3.14 (``concurrent.futures``), or from the
``interpreters-pep-734`` backport on 3.12 and 3.13. What it costs, and what this module
guards against:

- The function and its arguments are pickled *by reference* into each subinterpreter, so
  its module must be importable there (from ``sys.path``: PYTHONPATH, site-packages); the
  task sent is always ``workloads.runner.run_task_in_interpreter``, which then imports the
  workload as any process would. A function its subinterpreter cannot unpickle makes the
  backport's call spin forever, never returning; so :meth:`Pool.check` first runs one
  trivial call with a timeout, and the child gives up (and exits) if it does not return.
- C extensions must support subinterpreters (multi-phase init): one that does not (psutil,
  for one) raises ImportError in the task, recorded as that task's error.

Tasks run in the order sent, at most N at once, so the first N not yet done are the ones
running: that is what the child reports as "started", as the threads of ``threads`` do.
"""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from concurrent.futures import TimeoutError as FutureTimeout

from workloads.runner import interpreter, run_task_in_interpreter


def executor_class():
    """``InterpreterPoolExecutor`` where this Python has one; ImportError (saying why) where not."""
    if sys.version_info >= (3, 14):
        from concurrent.futures import InterpreterPoolExecutor

        return InterpreterPoolExecutor
    if sys.version_info < (3, 12):
        raise ImportError(f"subinterpreters need Python 3.12 or later, not {sys.version.split()[0]}")
    try:
        from interpreters_backport.concurrent.futures import InterpreterPoolExecutor
    except ImportError:
        raise ImportError(
            "no InterpreterPoolExecutor: install the backport, `pip install interpreters-pep-734` "
            "(or poolbench[interpreters])"
        ) from None
    return InterpreterPoolExecutor


class Pool:
    def __init__(self, workers: int, send):
        self.workers = workers
        self.send = send
        self.python = interpreter()
        self._executor = None
        self._lock = threading.Lock()
        self._waiting: OrderedDict[int, bool] = OrderedDict()
        """Tasks sent and not done, in order -> whether "started" was said for it."""

    def check(self, timeout: float) -> str | None:
        """Start the pool and run one trivial call in it; why it cannot serve, or None."""
        try:
            self._executor = executor_class()(max_workers=self.workers)
            future = self._executor.submit(interpreter)
            self.python = {**future.result(timeout=timeout), "executable": sys.executable}
        except FutureTimeout:
            return (
                f"a call into a subinterpreter did not return within {timeout:g} s: poolbench's "
                "workloads package must be importable there (PYTHONPATH or site-packages)"
            )
        except Exception as exc:  # whatever the pool raises, the producer says it in one line
            return f"subinterpreters cannot run here: {type(exc).__name__}: {exc}"
        return None

    def submit(self, spec: str, size: int, index: int) -> None:
        with self._lock:
            self._waiting[index] = False
            self._say_started()
        future = self._executor.submit(run_task_in_interpreter, spec, size, index)
        future.add_done_callback(lambda f, index=index: self._done(f, index))

    def _done(self, future, index: int) -> None:
        try:
            record = future.result()
        except BaseException as exc:  # raised outside the workload: the task's failure all the same
            record = {"index": index, "error": {"type": type(exc).__name__, "message": str(exc)}}
        with self._lock:  # "started" for the next ones and "done" for this one, in that order
            self._waiting.pop(index, None)
            self._say_started()
            self.send(("done", record))

    def _say_started(self) -> None:
        """Say "started" for the tasks that now run; the caller holds the lock."""
        for index, said in list(self._waiting.items())[: self.workers]:
            if not said:
                self._waiting[index] = True
                self.send(("started", index))

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
