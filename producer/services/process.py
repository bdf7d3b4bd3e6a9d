"""A supervised child process: its own session, its output in a file, dies with its parent.

Every process poolbench starts runs in a session of its own, so a Ctrl-C in the
terminal reaches only the producer, which then stops them in order; and each is sent
SIGTERM by the kernel if the producer dies (Linux ``PR_SET_PDEATHSIG``), so nothing
outlives the run. The kernel sends that signal when the *thread* that started the
child ends: start children from the thread that outlives them (the main thread).
Output goes to a file, not a pipe, which a chatty child could fill until it blocks;
its last lines are quoted when something does not start.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
from pathlib import Path

_PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int, sig: int = signal.SIGKILL) -> None:
    """In a child: ask the kernel for ``sig`` when its parent dies; exit now if ``parent`` (the
    producer) is gone already. Under forkserver the parent is the server, which the producer's
    own exit ends in turn.

    Off Linux there is no such request: the parent's own clean-up and its pipes' EOF remain.
    """
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, sig)
    except (OSError, AttributeError):
        pass
    try:
        os.kill(parent, 0)
    except ProcessLookupError:  # the producer died before the request took effect
        os._exit(1)


def _die_with_parent():
    """A preexec_fn asking for SIGTERM when this process (the child's parent) dies."""
    parent = os.getpid()
    return lambda: die_with_parent(parent, signal.SIGTERM)


class Child:
    """One process in its own session, its output in ``LOG_DIR/NAME.log``.

    With ``log_dir`` None its stdin, stdout and stderr are pipes to the parent instead
    (``convoy``'s children, whose parent talks to them: :mod:`producer.convoy.children`).
    ``die_with_parent`` asks the kernel for SIGTERM when the parent dies, between fork and
    exec; a child started while the parent runs other threads should ask for it itself
    (:func:`die_with_parent`), since code between fork and exec is not safe among threads.
    """

    def __init__(
        self,
        name: str,
        argv: list[str],
        env: dict | None,
        log_dir: str | None,
        cwd: str | None = None,
        die_with_parent: bool = True,
    ):
        self.name = name
        self.argv = list(argv)
        start = {
            "env": env,
            "cwd": cwd,
            "start_new_session": True,
            "preexec_fn": _die_with_parent() if die_with_parent else None,
        }
        if log_dir is None:
            self.log_path = None
            pipe = subprocess.PIPE
            self.proc = subprocess.Popen(argv, stdin=pipe, stdout=pipe, stderr=pipe, **start)
            return
        self.log_path = os.path.join(log_dir, f"{name}.log")
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, **start
            )

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def running(self) -> bool:
        return self.proc.poll() is None

    def tail(self, lines: int = 8) -> str:
        """The last lines of its output, joined on one line for an error message."""
        try:
            text = Path(self.log_path).read_text(errors="replace") if self.log_path else ""
        except OSError:
            return ""
        return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:])

    def signal(self, sig: int, group: bool = False) -> None:
        """Signal the process, or its whole group. The group id stays ours while any member lives."""
        try:
            os.killpg(self.pid, sig) if group else self.proc.send_signal(sig)
        except ProcessLookupError:
            pass

    def finish(self, timeout: float) -> None:
        """Wait for the process to end, then kill whatever is left of its group, and reap it."""
        try:
            self.proc.wait(timeout=max(0.0, timeout))
        except subprocess.TimeoutExpired:
            pass
        self.signal(signal.SIGKILL, group=True)
        self.proc.wait()
