"""A loopback echo: the server is a thread of this process, the client a process of its own.

The server thread shares this process's GIL with whatever else runs here, as a Celery
threads-pool worker's heartbeats and acks share it with the tasks. Its sockets block
(no timeout) on purpose: each request wakes it from ``recv`` and each reply is a
``send``, and both must take the GIL back afterwards, which is exactly the wait being
measured. It stops when its connection is shut down, which wakes a blocked ``recv``.

The client runs in a process of its own, with its own GIL, so only the server's side of
the round trip shares the GIL with the load. It sends one small message at a time and
times each round trip; every receive has a timeout.
"""

from __future__ import annotations

import socket
import threading
import time
from array import array

from producer.convoy.children import Link
from producer.errors import ConvoyError, ConvoyTimeout

HOST = "127.0.0.1"
MESSAGE = b"poolbench"
"""What each request carries: a few bytes, echoed back unchanged."""


def no_delay(sock: socket.socket) -> None:
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class EchoServer:
    """A TCP echo server on 127.0.0.1, on an ephemeral port, served by one thread."""

    def __init__(self, timeout: float):
        self.timeout = timeout
        self.error: BaseException | None = None
        self._closing = False
        self._conn: socket.socket | None = None
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            self._listener.bind((HOST, 0))
            self._listener.listen(1)
            self._listener.settimeout(timeout)  # only for accept(); the connection blocks
        except OSError:
            self._listener.close()
            raise
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, name="poolbench-echo-server", daemon=True)

    def __enter__(self) -> EchoServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _serve(self) -> None:
        try:
            conn, _ = self._listener.accept()
            self._conn = conn
            conn.settimeout(None)
            no_delay(conn)
            while data := conn.recv(256):
                conn.sendall(data)
        except OSError as exc:
            if not self._closing:
                self.error = exc

    def check(self) -> None:
        """Raise if the server thread has failed."""
        if self.error is not None:
            raise ConvoyError(f"the echo server failed: {self.error}")

    def close(self) -> None:
        """Wake the server thread, wait for it, close both sockets. Safe to call twice."""
        self._closing = True
        for sock in (self._conn, self._listener):
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass  # not connected, or already shut down
        if self._thread.is_alive():
            self._thread.join(self.timeout)
        for sock in (self._conn, self._listener):
            if sock is not None:
                sock.close()
        if self._thread.is_alive():
            raise ConvoyError(f"the echo server thread did not stop within {self.timeout:g} s")


def round_trips(sock: socket.socket, duration: float) -> tuple[array, array]:
    """Send, wait for the echo, repeat for ``duration`` seconds: (start offsets, latencies)."""
    starts, latencies = array("d"), array("d")
    size = len(MESSAGE)
    clock = time.perf_counter
    began = clock()
    end = began + duration
    t0 = began
    while t0 < end:
        sock.sendall(MESSAGE)
        got = b""
        while len(got) < size:
            chunk = sock.recv(size - len(got))
            if not chunk:
                raise ConnectionError("the echo server closed the connection")
            got += chunk
        t1 = clock()
        starts.append(t0 - began)
        latencies.append(t1 - t0)
        t0 = t1
    return starts, latencies


class EchoClient:
    """The client process (``producer.convoy.child client``); every wait for it has a timeout."""

    def __init__(self, port: int, timeout: float, environ: dict[str, str]):
        self.timeout = timeout
        self._child = Link("client", [str(port), repr(timeout)], environ, label="echo client")
        try:
            self._expect("ready", time.monotonic() + timeout, "connect")
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> EchoClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _expect(self, word: str, deadline: float, doing: str) -> str:
        verb, _, rest = self._child.read_line(deadline, doing).partition(" ")
        if verb == "timeout":
            raise ConvoyTimeout(f"a round trip to the echo server overran --timeout {self.timeout:g} s")
        if verb != word:
            raise ConvoyError(rest if verb == "error" else f"the echo client said {verb!r}")
        return rest

    def measure(self, duration: float) -> tuple[array, array]:
        """Round trips for ``duration`` seconds: (start offsets, latencies), in seconds."""
        self._child.send(f"measure {duration!r}")
        deadline = time.monotonic() + duration + self.timeout
        count = int(self._expect("samples", deadline, "answer"))
        payload = self._child.read_exact(16 * count, deadline, "answer")
        starts, latencies = array("d"), array("d")
        starts.frombytes(payload[: 8 * count])
        latencies.frombytes(payload[8 * count :])
        return starts, latencies

    def close(self) -> None:
        """SIGTERM ends the client at once, even mid-measurement (it holds nothing worth saving).

        Waiting for it instead would wait for the rest of its window, and then for ever on a
        full pipe: its samples outgrow the pipe, and nobody reads them any more.
        """
        self._child.stop(self.timeout)
