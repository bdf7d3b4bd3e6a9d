"""Calibrate the relay (producer/services/relay.py): the round trip measured through it
against the one asked for, and its own added cost at rtt=0.

An echo server and a client on 127.0.0.1 in this process, one byte ping-ponged N
times, first directly (the loopback's own round trip), then through a relay process
(``python -m producer.services.relay``, as --hosts runs it) at each asked round trip.
Prints one line per setting: median, p90 and p99 of the round trip, the error of the
median against the one asked for, and the machine's load average beside them.

    .venv/bin/python bench/relay.py [--pings 400] [--rtt 0,0.5,1,2,4,10,20]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time


def echo_server() -> tuple[str, int]:
    server = socket.create_server(("127.0.0.1", 0))

    def serve(conn):
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while data := conn.recv(65536):
            conn.sendall(data)
        conn.close()

    def accept():
        while True:
            conn, _ = server.accept()
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return server.getsockname()[:2]


def pings(address, count: int) -> list[float]:
    with socket.create_connection(address, timeout=10) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        times = []
        for _ in range(count + 20):
            began = time.perf_counter()
            sock.sendall(b"x")
            if not sock.recv(1):
                raise RuntimeError("the echo closed")
            times.append(time.perf_counter() - began)
        return times[20:]  # warm-up dropped


def through_relay(target, rtt_ms: float, count: int) -> list[float]:
    with tempfile.TemporaryDirectory(prefix="poolbench-relay-bench-") as folder:
        ready = os.path.join(folder, "ready")
        argv = [sys.executable, "-m", "producer.services.relay", "--listen", "127.0.0.1:0"]
        argv += ["--to", f"{target[0]}:{target[1]}", "--link", f"rtt={rtt_ms}ms", "--ready-file", ready]
        relay = subprocess.Popen(argv)
        try:
            deadline = time.monotonic() + 10
            while not os.path.exists(ready):
                if time.monotonic() > deadline or relay.poll() is not None:
                    raise RuntimeError("the relay did not start")
                time.sleep(0.01)
            host, _, port = open(ready).read().strip().rpartition(":")
            return pings((host, int(port)), count)
        finally:
            relay.terminate()
            relay.wait(timeout=10)


def line(label: str, times: list[float], asked_ms: float | None) -> str:
    ms = sorted(t * 1e3 for t in times)
    median = statistics.median(ms)
    p90, p99 = ms[int(len(ms) * 0.9)], ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    error = f"{(median - asked_ms) / asked_ms * 100:+5.1f}%" if asked_ms else "     "
    load = os.getloadavg()[0]
    return f"{label:>14}  median {median:7.3f} ms  p90 {p90:7.3f}  p99 {p99:7.3f}  {error}  load {load:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pings", type=int, default=400)
    parser.add_argument("--rtt", default="0,0.5,1,2,4,10,20")
    args = parser.parse_args()
    target = echo_server()
    print(f"{args.pings} one-byte pings each, CPUs {os.cpu_count()}")
    print(line("direct", pings(target, args.pings), None))
    for rtt in (float(r) for r in args.rtt.split(",")):
        count = args.pings if rtt < 10 else max(50, args.pings // 4)
        print(line(f"relay {rtt:g} ms", through_relay(target, rtt, count), rtt or None))


if __name__ == "__main__":
    main()
