"""The baseline: every call one after another, in one thread of one child process.

One started thread of the child runs the calls (not its main thread: the strategies'
calls run in started threads too, and a free-threaded build runs a main thread's calls
slower); the producer only hands them out, so a call that never returns, exits or
crashes cannot take the producer with it (see
:mod:`producer.backends.supervised` for why this stays an honest baseline).
"""

from __future__ import annotations

from producer.backends.pooled import PooledBackend


class SequentialBackend(PooledBackend):
    @property
    def concurrency(self) -> int:
        return 1

    def shape(self) -> tuple[int, int]:
        return 1, 1
