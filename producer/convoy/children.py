"""The processes ``convoy`` starts, seen from the parent: pipes, deadlines, and a sure stop.

Each child is ``python -P -m producer.convoy.child ROLE ...`` (see that module), started
as every poolbench child is, by :class:`producer.services.process.Child`: in a session of
its own, so a Ctrl-C in the terminal reaches only the parent, which stops them in order;
with the recorded environment. It asks the kernel for SIGTERM if the parent dies itself,
on its first line (the parent runs threads while it starts children, so no code runs
between fork and exec). They are subprocesses rather than multiprocessing children, so
nothing depends on the caller's main module, and the parent's threads are never forked.

The parent talks to a child over its stdin and stdout (a :class:`Link`); every read has a
deadline.
"""

from __future__ import annotations

import os
import select
import subprocess
import time

from producer.errors import ConvoyError, ConvoyTimeout
from producer.services.environ import Interpreter, child_environ
from producer.services.process import Child

MODULE = "producer.convoy.child"
KILL_WAIT = 2.0
"""Seconds to wait after SIGKILL for a child that would not stop otherwise."""


class Link:
    """The parent's end of one ``convoy`` child: line and byte reads that have a deadline."""

    def __init__(self, role: str, args: list[str], environ: dict[str, str], label: str | None = None):
        self.role = label or role
        argv = Interpreter.current().module_argv(MODULE) + [role, str(os.getpid()), *args]
        self.child = Child(role, argv, child_environ(environ, {}), None, die_with_parent=False)
        self.proc = self.child.proc
        self._buffer = b""

    def send(self, line: str) -> None:
        try:
            self.proc.stdin.write(line.encode() + b"\n")
            self.proc.stdin.flush()
        except OSError:
            raise ConvoyError(self._gone()) from None

    def _fill(self, deadline: float, doing: str) -> None:
        wait = deadline - time.monotonic()
        if wait <= 0 or not select.select([self.proc.stdout], [], [], wait)[0]:
            raise ConvoyTimeout(f"the {self.role} process did not {doing} within --timeout")
        chunk = os.read(self.proc.stdout.fileno(), 1 << 20)
        if not chunk:
            raise ConvoyError(self._gone())
        self._buffer += chunk

    def read_line(self, deadline: float, doing: str) -> str:
        while b"\n" not in self._buffer:
            self._fill(deadline, doing)
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode()

    def read_exact(self, size: int, deadline: float, doing: str) -> bytes:
        while len(self._buffer) < size:
            self._fill(deadline, doing)
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data

    def _gone(self) -> str:
        try:
            self.proc.wait(KILL_WAIT)
            _, err = self.proc.communicate(timeout=KILL_WAIT)
        except (subprocess.TimeoutExpired, ValueError, OSError):
            err = b""
        last = (err or b"").decode(errors="replace").strip().splitlines()[-1:] or ["no message"]
        return f"the {self.role} process exited unexpectedly (code {self.proc.returncode}): {last[0]}"

    def stop(self, timeout: float, terminate: bool = True) -> bool:
        """Close its stdin (and SIGTERM it), wait up to ``timeout``, then SIGKILL.

        Returns True when it had to be killed. Safe to call twice.
        """
        killed = False
        try:
            self.proc.stdin.close()
        except OSError:
            pass  # it has gone already: its end of the pipe is closed
        if terminate and self.proc.poll() is None:
            self.proc.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            killed = True
            self.proc.kill()
            try:
                self.proc.wait(KILL_WAIT)
            except subprocess.TimeoutExpired:
                pass  # unkillable (stopped in a debugger?); nothing more a process can do
        for stream in (self.proc.stdout, self.proc.stderr):
            stream.close()
        return killed
