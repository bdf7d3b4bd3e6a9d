"""``python -m producer.convoy.child ROLE PARENT_PID ...``: the processes ``convoy`` starts.

``client PARENT_PID PORT TIMEOUT``
    Connects to the echo server, says ``ready``; then for each line ``measure SECONDS``
    on stdin it times round trips for that long and writes ``samples N`` followed by
    N start offsets and N latencies (float64, native order). A round trip that overruns
    TIMEOUT is answered ``timeout``; a failure ``error MESSAGE``. Ends at end of input.

``load PARENT_PID``
    Says ``ready``, runs the built-in ``countdown`` workload in chunks until SIGTERM
    (or end of input), then writes ``done CHUNKS SECONDS`` and exits.

Both ask the kernel for SIGTERM when the parent dies. Nothing here is for users.
"""

from __future__ import annotations

import select
import signal
import socket
import sys
import time
from array import array

from producer.convoy.echo import HOST, no_delay, round_trips
from producer.convoy.load import spin
from producer.services.process import die_with_parent


def _say(out, line: str, payload: bytes = b"") -> None:
    out.write(line.encode() + b"\n" + payload)
    out.flush()


def client(port: int, timeout: float) -> None:
    out = sys.stdout.buffer
    try:
        sock = socket.create_connection((HOST, port), timeout=timeout)
    except OSError as exc:
        _say(out, f"error cannot connect to the echo server on port {port}: {exc}")
        return
    with sock:
        no_delay(sock)
        _say(out, "ready")
        for line in sys.stdin:
            verb, _, value = line.partition(" ")
            if verb != "measure":
                _say(out, f"error unknown command {verb!r}")
                return
            try:
                starts, latencies = round_trips(sock, float(value))
            except TimeoutError:
                _say(out, "timeout")
                return
            except OSError as exc:
                _say(out, f"error the echo client failed: {exc}")
                return
            _say(out, f"samples {len(latencies)}", starts.tobytes() + latencies.tobytes())


def load() -> None:
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    counts = array("q", [0])

    def stop_is_set() -> bool:  # a signal, or the parent closed our stdin
        return bool(stopping) or bool(select.select([sys.stdin], [], [], 0)[0])

    _say(sys.stdout.buffer, "ready")
    began = time.perf_counter()
    spin(stop_is_set, counts, 0)
    _say(sys.stdout.buffer, f"done {counts[0]} {time.perf_counter() - began!r}")


def main(argv: list[str]) -> None:
    role, parent, *args = argv
    die_with_parent(int(parent), signal.SIGTERM)
    if role == "client":
        client(int(args[0]), float(args[1]))
    elif role == "load":
        load()
    else:
        sys.exit(f"unknown role {role!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
