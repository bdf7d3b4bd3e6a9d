"""The local threads and processes pools as traffic targets: a child process fed over a socket.

The producer listens on a Unix socket in a private folder; the child
(:mod:`.child`, started with :class:`producer.services.process.Child`: own session,
dies with the producer) connects, warms its pool and says ready. A thread here reads
its answers and stamps each with ``result_at``. Every wait has a timeout.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import sys
import threading
import time
from multiprocessing.connection import Connection

from producer.errors import PoolbenchError
from producer.services import folders
from producer.services.environ import child_environ
from producer.services.lifecycle import Started
from producer.services.process import Child

FOLDER_PREFIX = "poolbench-load-"
STOP_S = 5.0


class LocalTarget(Started):
    def __init__(self, name: str, model: str, kind: str, settings, spec: str, size: int, run_s: float):
        self.name, self.model, self.via, self.kind = name, model, "local", kind
        self.settings, self.spec, self.size, self.run_s = settings, spec, size, run_s
        self.concurrency = settings.concurrency
        self._lock = threading.Lock()
        self._collected: list[tuple[int, dict, float]] = []
        self._abandoned: list[int] | None = None
        self._folder: str | None = None
        self._child: Child | None = None
        self._conn = None
        self._reader: threading.Thread | None = None
        self.info: dict = {}

    def start(self) -> None:
        folders.remove_abandoned(FOLDER_PREFIX)
        self._folder = folders.make_owned(FOLDER_PREFIX)
        address = os.path.join(self._folder, f"s-{secrets.token_hex(4)}")
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            server.bind(address)
            server.listen(1)
            server.settimeout(self.settings.startup_timeout)
            env = child_environ(self.settings.environ, {})
            argv = [sys.executable, "-m", "producer.traffic.child", address]
            self._child = Child(f"load-{self.kind}", argv, env, self._folder)
            try:
                sock, _ = server.accept()
            except OSError:
                raise PoolbenchError(
                    f"{self.name}: its pool process did not start: {self._child.tail()}"
                ) from None
            sock.setblocking(True)
            self._conn = Connection(sock.detach())
        finally:
            server.close()
        self._conn.send(
            {
                "kind": self.kind,
                "concurrency": self.concurrency,
                "spec": self.spec,
                "size": self.size,
                "start_method": self.settings.start_method,
            }
        )
        if not self._conn.poll(self.settings.startup_timeout):
            raise PoolbenchError(f"{self.name}: its pool did not warm up in time: {self._child.tail()}")
        kind, self.info = self._conn.recv()
        self._reader = threading.Thread(target=self._read, name="poolbench-load-reader", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        with contextlib.suppress(EOFError, OSError):
            while True:
                message = self._conn.recv()
                now = time.time()
                with self._lock:
                    if message[0] == "done":
                        self._collected.append((message[1], message[2], now))
                    elif message[0] == "abandoned":
                        self._abandoned = list(message[1])

    # -- the target contract (steps.py) ---------------------------------------------

    def begin(self) -> None:
        with self._lock:
            self._collected, self._abandoned = [], None

    def send(self, index: int, intended: float) -> None:
        self._conn.send(("task", index, intended))

    def done_count(self) -> int:
        with self._lock:
            return len(self._collected)

    def collected(self) -> list[tuple[int, dict, float]]:
        with self._lock:
            return list(self._collected)

    def abandon(self) -> set[int]:
        self._conn.send(("abandon",))
        deadline = time.monotonic() + STOP_S
        while time.monotonic() < deadline:
            with self._lock:
                if self._abandoned is not None:
                    return set(self._abandoned)
            time.sleep(0.01)
        raise PoolbenchError(f"{self.name}: its pool did not answer an abandon within {STOP_S:g} s")

    def describe(self) -> dict:
        return {"pid": self.info.get("pid"), "kind": self.kind, "concurrency": self.concurrency}

    def close(self) -> None:
        """Stop the child (a message, then its group killed), remove the folder; safe twice."""
        if self._conn is not None:
            with contextlib.suppress(OSError, ValueError):
                self._conn.send(("stop",))
        if self._child is not None:
            self._child.finish(STOP_S)
            self._child = None
        if self._conn is not None:
            with contextlib.suppress(OSError):
                self._conn.close()
            self._conn = None
        if self._reader is not None:
            self._reader.join(timeout=STOP_S)
            self._reader = None
        folder, self._folder = self._folder, None
        folders.remove(folder)
