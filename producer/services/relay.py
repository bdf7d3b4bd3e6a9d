"""A TCP relay that gives a link its round trip where the kernel cannot (no ``netem``).

Every chunk read on one side is held for the link's one-way delay (half the round
trip, plus an optional jitter) and then written to the other side, in each direction.
Order is kept: a chunk is never written before the one read ahead of it, so a jitter
can stretch a gap but never reorder bytes (TCP would not either). Each direction has a
reader and a writer thread joined by a queue, so the relay keeps reading while it holds
(a link has a bandwidth-delay product, not one chunk in flight).

The writer sleeps until a chunk is due with a timer slack of 1 µs (Linux
``PR_SET_TIMERSLACK``; the default 50 µs would show at 0.5 ms). The relay's own cost
(two thread wake-ups and a copy per direction) is measured by ``bench/relay.py`` and
written in docs/BENCHMARKS.md; each hold is shortened by it (:data:`OWN_COST_S`), so it
shows only at rtt=0.

Run as a process of its own (``python -m producer.services.relay``) so that its threads
never share a GIL with the producer being measured; :class:`Relay` is the same thing
in-process, for tests and the calibration.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import queue
import random
import re
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass

CHUNK = 65536
OWN_COST_S = 45e-6
"""The relay's own cost each way (a wake-up on read, a hand-off, a wake-up to write), as
``bench/relay.py`` measured it at rtt=0 on a 2-CPU machine (0.09 ms a round trip over the
loopback's 0.014 ms). Each hold is shortened by it, so that the round trip through the
relay is the one asked for; at rtt=0 nothing can be shortened and the cost shows."""
CONNECT_TIMEOUT = 5.0
"""Seconds to reach the target for each accepted connection."""
_PR_SET_TIMERSLACK = 29
_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(us|µs|ms|s)?\s*$")
_UNITS = {"us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, None: 1e-3}


def parse_duration(text: str) -> float:
    """``2ms``, ``0.5ms``, ``200us``, ``1s`` or a bare number of milliseconds -> seconds."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"not a duration: {text!r} (write e.g. 2ms, 0.5ms, 200us)")
    return float(match.group(1)) * _UNITS[match.group(2)]


@dataclass(frozen=True)
class LinkShape:
    """What a link adds: a round trip, and a jitter on it."""

    rtt_s: float = 0.0
    jitter_s: float = 0.0
    """Each chunk's one-way hold varies uniformly within ±jitter/2 (so the round trip within
    ±jitter), never below zero and never ahead of the chunk before it."""

    @classmethod
    def parse(cls, text: str) -> LinkShape:
        """``rtt=2ms,jitter=0.2ms`` (either key may be left out)."""
        values = {"rtt": 0.0, "jitter": 0.0}
        for part in filter(None, (p.strip() for p in text.split(","))):
            key, sep, value = part.partition("=")
            if not sep or key.strip() not in values:
                raise ValueError(f"unknown link setting {part!r}: write rtt=2ms,jitter=0.2ms")
            values[key.strip()] = parse_duration(value)
        if values["rtt"] > 10.0 or values["jitter"] > values["rtt"] and values["jitter"]:
            raise ValueError("a link's rtt must be at most 10 s and its jitter at most its rtt")
        return cls(values["rtt"], values["jitter"])

    def as_dict(self) -> dict:
        return {"rtt_ms": self.rtt_s * 1e3, "jitter_ms": self.jitter_s * 1e3}

    def text(self) -> str:
        jitter = f", jitter {self.jitter_s * 1e3:g} ms" if self.jitter_s else ""
        return f"rtt {self.rtt_s * 1e3:g} ms{jitter}"


def _fine_timer() -> None:
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_TIMERSLACK, 1000, 0, 0, 0)  # ns


class _Direction:
    """Bytes from ``source`` to ``sink``, each chunk held until its due time."""

    def __init__(
        self, source: socket.socket, sink: socket.socket, shape: LinkShape, rng: random.Random, done
    ):
        self.source, self.sink, self.shape, self.rng, self.done = source, sink, shape, rng, done
        self.chunks: queue.SimpleQueue = queue.SimpleQueue()
        self.last_due = 0.0
        self.threads = [
            threading.Thread(target=self._read, daemon=True, name="relay-read"),
            threading.Thread(target=self._write, daemon=True, name="relay-write"),
        ]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def _hold(self) -> float:
        one_way = self.shape.rtt_s / 2 - OWN_COST_S
        if self.shape.jitter_s:
            one_way += self.rng.uniform(-self.shape.jitter_s / 2, self.shape.jitter_s / 2)
        return max(0.0, one_way)

    def _read(self) -> None:
        try:
            while True:
                data = self.source.recv(CHUNK)
                now = time.monotonic()
                if not data:
                    break
                self.last_due = max(self.last_due, now + self._hold())  # never ahead of the one before
                self.chunks.put((self.last_due, data))
        except OSError:
            pass
        self.chunks.put((0.0, None))

    def _write(self) -> None:
        _fine_timer()
        try:
            while True:
                due, data = self.chunks.get()
                if data is None:
                    with contextlib.suppress(OSError):
                        self.sink.shutdown(socket.SHUT_WR)
                    break
                wait = due - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                self.sink.sendall(data)
        except OSError:
            pass
        self.done()


class _Connection:
    def __init__(self, client: socket.socket, server: socket.socket, shape: LinkShape, rng: random.Random):
        self.sockets = (client, server)
        self._ended = 0
        self._lock = threading.Lock()
        self.directions = [
            _Direction(client, server, shape, rng, self._one_done),
            _Direction(server, client, shape, rng, self._one_done),
        ]

    def start(self) -> None:
        for direction in self.directions:
            direction.start()

    def _one_done(self) -> None:
        with self._lock:
            self._ended += 1
            last = self._ended == 2
        if last:
            self.close()

    def close(self) -> None:
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


class Relay:
    """Listen on ``listen`` (host, port; port 0: a free one), forward each connection to
    ``target`` with ``shape`` in each direction. A context manager; ``address`` once started."""

    def __init__(
        self, listen: tuple[str, int], target: tuple[str, int], shape: LinkShape, seed: int | None = None
    ):
        self.target = target
        self.shape = shape
        self.rng = random.Random(seed)
        self.server = socket.create_server(listen, reuse_port=False)
        self.address: tuple[str, int] = self.server.getsockname()[:2]
        self.connections: list[_Connection] = []
        self._closed = threading.Event()
        self._acceptor = threading.Thread(target=self._accept, daemon=True, name="relay-accept")

    def __enter__(self) -> Relay:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self) -> None:
        self._acceptor.start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=CONNECT_TIMEOUT)
            except OSError:
                client.close()  # the client sees the refusal as a reset, as it would without us
                continue
            upstream.settimeout(None)
            for sock in (client, upstream):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            connection = _Connection(client, upstream, self.shape, self.rng)
            self.connections = [c for c in self.connections if c._ended < 2] + [connection]
            connection.start()

    def close(self) -> None:
        """Stop accepting and cut every connection; safe to call twice."""
        self._closed.set()
        with contextlib.suppress(OSError):
            self.server.shutdown(socket.SHUT_RDWR)
        self.server.close()
        for connection in list(self.connections):
            connection.close()


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host or "127.0.0.1", int(port)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m producer.services.relay", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--listen", required=True, type=_address, help="HOST:PORT to listen on (port 0: any)")
    parser.add_argument("--to", required=True, type=_address, help="HOST:PORT to forward to")
    parser.add_argument("--link", default="", help="the link's shape, e.g. rtt=2ms,jitter=0.2ms")
    parser.add_argument("--ready-file", help="written with HOST:PORT once listening")
    args = parser.parse_args(argv)
    try:
        shape = LinkShape.parse(args.link)
    except ValueError as exc:
        print(f"relay: {exc}", file=sys.stderr)
        return 2
    stop: list[int] = []  # a plain list, not an Event: a handler must take no lock (see producer.stops)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda signum, _: stop.append(signum))
    with Relay(args.listen, args.to, shape) as relay:
        if args.ready_file:
            with open(args.ready_file + ".tmp", "w") as f:
                f.write(f"{relay.address[0]}:{relay.address[1]}\n")
            os.replace(args.ready_file + ".tmp", args.ready_file)
        while not stop:
            time.sleep(0.1)
    return 0


if __name__ == "__main__":
    code = main()
    # no interpreter finalization: a daemon thread blocked on a peer that is itself stopping
    # must not keep the relay alive after it was told to stop (its sockets are closed)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
