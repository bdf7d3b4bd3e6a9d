"""Subinterpreters of one process: each with its own GIL, so pure-Python work runs in parallel.

``InterpreterPoolExecutor`` (PEP 734) from 3.14's ``concurrent.futures``, or from the
``interpreters-pep-734`` backport on 3.12 and 3.13 (``pip install 'poolbench[interpreters]'``).
Its pool lives in one child process, supervised as every local backend's is, and running
under the interpreter that has it: on a 3.11 producer, ``--python`` names one
(:mod:`producer.backends.launch`). What runs inside the child, and what subinterpreters
cost (arguments pickled, modules that must be importable, C extensions that must support
them), is in :mod:`producer.backends.subinterpreters`. Each task's record names the
subinterpreter that ran it (``interpreter``) beside its thread.
"""

from __future__ import annotations

from producer.backends.child import INTERPRETERS
from producer.backends.pooled import PooledBackend


class InterpretersBackend(PooledBackend):
    mode = INTERPRETERS

    def shape(self) -> tuple[int, int]:
        return 1, self.concurrency

    def settings_info(self) -> dict:
        info = super().settings_info()
        info["interpreters_per_process"] = info.pop("threads_per_process")
        return info
