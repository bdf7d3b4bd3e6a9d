"""How a run stops early: SIGINT, SIGTERM and SIGHUP take one path; a closed pipe ends quietly.

Each of the three signals raises :class:`~producer.errors.Interrupted` in the main thread.
It is a KeyboardInterrupt, so it unwinds through every ``finally`` and context manager
exactly as Ctrl-C does: local child processes are killed, the embedded workers and
Redis stopped, the temporary folder removed. The CLI then prints one line and exits
128 + the signal's number (see :mod:`producer.errors`).

Only the CLI installs these handlers (:func:`handled`); the Python API leaves a
program's signals alone.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator

from producer.errors import Interrupted

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


_stopping = False
"""Set by the first stop signal. A plain flag, never a lock: a second signal may run the
handler again in the middle of the first, and a lock held there (``threading.Event.set``
takes one) would be waited for forever by the same thread."""


def _raise_interrupted(signum, frame) -> None:
    """Raise once; a stop signal that comes while the run unwinds is let go.

    A second Ctrl-C raised inside a ``finally`` would cut the stopping short, or come
    out as a traceback in the moment before :func:`ignored` takes over.
    """
    global _stopping
    if _stopping:
        return
    _stopping = True
    raise Interrupted(signum)


@contextlib.contextmanager
def handled() -> Iterator[None]:
    """Turn the stop signals into :class:`Interrupted` while the block runs, then restore them.

    Only the main thread may set handlers; elsewhere this changes nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    global _stopping
    _stopping = False
    previous = {sig: signal.signal(sig, _raise_interrupted) for sig in SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            if signal.getsignal(sig) is _raise_interrupted:  # not ignored() since
                signal.signal(sig, handler)


def ignored() -> None:
    """Ignore further stop signals: everything is stopped already, and only the last line remains.

    A second Ctrl-C while the process exits would otherwise print a traceback.
    """
    for sig in SIGNALS:
        signal.signal(sig, signal.SIG_IGN)


def name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def drop_output() -> None:
    """Point stdout and stderr at /dev/null, so that the flush at exit cannot fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError, AttributeError):
            os.dup2(devnull, stream.fileno())
    os.close(devnull)
