"""The relay that gives a link its round trip where the kernel has no netem.

What must hold whatever the machine's load: every byte through, in order, in each
direction, with and without jitter; an end closed on one side is closed on the other;
a target that refuses is a closed connection, not a hang; the hold is never shorter
than asked (a floor, not a timing the machine could miss); bad shapes are refused.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time

import pytest

from producer.services import relay
from producer.services.relay import LinkShape, Relay, parse_duration
from tests.helpers import ROOT


def echo_server():
    server = socket.create_server(("127.0.0.1", 0))

    def serve(conn):
        with conn:
            while data := conn.recv(65536):
                conn.sendall(data)

    def accept():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return server


def received(sock: socket.socket, size: int) -> bytes:
    parts, got = [], 0
    while got < size:
        data = sock.recv(65536)
        assert data, "closed before every byte came back"
        parts.append(data)
        got += len(data)
    return b"".join(parts)


@pytest.mark.parametrize("link", ["rtt=0", "rtt=1ms", "rtt=2ms,jitter=2ms"])
def test_every_byte_comes_back_in_order(link):
    server = echo_server()
    payload = b"".join(i.to_bytes(4, "big") for i in range(200_000))  # 800 kB of numbered words
    with server, Relay(("127.0.0.1", 0), server.getsockname(), LinkShape.parse(link), seed=1) as r:
        with socket.create_connection(r.address, timeout=30) as sock:
            sender = threading.Thread(
                target=lambda: [sock.sendall(payload[i : i + 1000]) for i in range(0, len(payload), 1000)]
            )
            sender.start()
            back = received(sock, len(payload))
            sender.join()
    assert back == payload


def test_jitter_never_reorders_small_writes():
    server = echo_server()
    shape = LinkShape.parse("rtt=1ms,jitter=1ms")
    with server, Relay(("127.0.0.1", 0), server.getsockname(), shape, seed=7) as r:
        with socket.create_connection(r.address, timeout=30) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for i in range(300):
                sock.sendall(bytes([i % 256]))
                time.sleep(0.0001)
            back = received(sock, 300)
    assert back == bytes(i % 256 for i in range(300))


def test_the_hold_is_never_shorter_than_asked():
    server = echo_server()
    with server, Relay(("127.0.0.1", 0), server.getsockname(), LinkShape.parse("rtt=20ms")) as r:
        with socket.create_connection(r.address, timeout=30) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            shortest = float("inf")
            for _ in range(5):
                began = time.perf_counter()
                sock.sendall(b"x")
                assert sock.recv(1) == b"x"
                shortest = min(shortest, time.perf_counter() - began)
    assert shortest >= 0.020 - 2 * relay.OWN_COST_S


def test_a_close_on_one_side_closes_the_other():
    server = socket.create_server(("127.0.0.1", 0))
    with server, Relay(("127.0.0.1", 0), server.getsockname(), LinkShape.parse("rtt=1ms")) as r:
        client = socket.create_connection(r.address, timeout=10)
        upstream, _ = server.accept()
        upstream.settimeout(10)
        client.sendall(b"bye")
        client.close()
        assert received(upstream, 3) == b"bye"
        assert upstream.recv(10) == b""  # the end reached the server
        upstream.close()


def test_a_refusing_target_closes_the_client():
    with socket.create_server(("127.0.0.1", 0)) as probe:
        dead = probe.getsockname()  # nothing listens there once closed
    with Relay(("127.0.0.1", 0), dead, LinkShape()) as r:
        with socket.create_connection(r.address, timeout=10) as sock:
            sock.settimeout(10)
            try:
                assert sock.recv(1) == b""
            except ConnectionResetError:
                pass


@pytest.mark.parametrize(
    ("text", "seconds"), [("2ms", 0.002), ("0.5ms", 0.0005), ("200us", 0.0002), ("1s", 1.0), ("3", 0.003)]
)
def test_durations(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


def test_link_shapes():
    assert LinkShape.parse("rtt=2ms,jitter=0.2ms") == LinkShape(0.002, 0.0002)
    assert LinkShape.parse("rtt=4ms").as_dict() == {"rtt_ms": 4.0, "jitter_ms": 0.0}
    for bad in ("rtt=fast", "delay=2ms", "rtt=1ms,jitter=2ms", "rtt"):
        with pytest.raises(ValueError):
            LinkShape.parse(bad)


def test_the_relay_process_refuses_a_bad_shape_in_one_line():
    proc = subprocess.run(
        [sys.executable, "-m", "producer.services.relay", "--listen", ":0", "--to", ":1", "--link", "rtt=x"],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.returncode == 2
    assert (
        proc.stderr.strip().startswith("relay: not a duration") and len(proc.stderr.strip().splitlines()) == 1
    )
