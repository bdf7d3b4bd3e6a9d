"""How a local backend's child processes start: with this Python, or with another one.

With the producer's own interpreter, multiprocessing starts them (fork, forkserver or
spawn, as ``--start-method`` says). Under ``--python`` another interpreter runs them, and
multiprocessing cannot: its spawn hands the child the producer's ``sys.path`` (this
Python's site-packages, compiled for another version) and re-imports the producer's
``__main__``. So the child is a command instead, ``python -P -m producer.backends.child
FD ...``, with the explicit environment of every child (:mod:`producer.services.environ`)
and one end of a socket pair as its pipe; it imports only the standard library and
poolbench's own packages, so the interpreter needs nothing installed. Either way the
supervisor (:mod:`producer.backends.supervised`) sees the same thing: an object with
``pid``, ``sentinel``, ``exitcode``, ``join`` and ``kill``, and a ``Connection``.
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess

from producer.backends.child import THREADS, serve
from producer.services.environ import Interpreter, child_environ

EXEC = "exec"
"""The start method of children that run under another interpreter."""


class Launcher:
    """Starts the children of one backend: ``start(threads) -> (process, connection)``."""

    def __init__(
        self,
        start_method: str | None,
        interpreter: Interpreter | None = None,
        environ: dict | None = None,
        mode: str = THREADS,
        startup_timeout: float = 60.0,
    ):
        self.interpreter = interpreter if interpreter and not interpreter.is_current else None
        self.environ = dict(environ or {})
        self.mode = mode
        self.startup_timeout = startup_timeout
        self._context = None if self.interpreter else multiprocessing.get_context(start_method)

    @property
    def start_method(self) -> str:
        return EXEC if self._context is None else self._context.get_start_method()

    def start(self, threads: int):
        if self._context is not None:
            ours, theirs = self._context.Pipe(duplex=True)
            process = self._context.Process(
                target=serve,
                args=(theirs, threads, os.getpid(), self.mode, self.startup_timeout),
                daemon=True,
                name="poolbench-local",
            )
            process.start()
            theirs.close()
            return process, ours
        ours, theirs = multiprocessing.Pipe(duplex=True)
        try:
            argv = [*self.interpreter.module_argv("producer.backends.child"), str(theirs.fileno())]
            argv += [str(os.getpid()), str(threads), self.mode, f"{self.startup_timeout:g}"]
            process = CommandProcess(argv, child_environ(self.environ, {}), theirs.fileno())
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        return process, ours


class CommandProcess:
    """A child started as a command, looking like a ``multiprocessing.Process`` to its supervisor."""

    def __init__(self, argv: list[str], env: dict, fd: int):
        # Its own session: a terminal's Ctrl-C reaches only the producer, which stops it.
        self._popen = subprocess.Popen(
            argv, env=env, pass_fds=(fd,), stdin=subprocess.DEVNULL, start_new_session=True
        )
        self.pid = self._popen.pid
        self._closed = False
        try:
            self.sentinel = os.pidfd_open(self.pid)  # Linux 5.3+: readable once it exits
        except (AttributeError, OSError):
            self.sentinel, self._keep = _exit_pipe(self._popen)

    @property
    def exitcode(self) -> int | None:
        """As multiprocessing's: the exit status, or minus the signal that killed it."""
        return self._popen.poll()

    def join(self, timeout: float | None = None) -> None:
        try:
            self._popen.wait(timeout)
        except subprocess.TimeoutExpired:
            pass

    def kill(self) -> None:
        if self._popen.poll() is None:
            self._popen.kill()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            os.close(self.sentinel)


def _exit_pipe(popen: subprocess.Popen):
    """Without pidfd: a thread waits for the child and then closes a pipe's write end."""
    import threading

    read, write = os.pipe()

    def wait() -> None:
        popen.wait()
        os.close(write)

    thread = threading.Thread(target=wait, daemon=True, name="poolbench-child-exit")
    thread.start()
    return read, thread
