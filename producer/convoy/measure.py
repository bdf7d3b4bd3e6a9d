"""``convoy``: round-trip latency of a threaded echo server beside CPU-bound threads or processes.

Three conditions, interleaved round by round (idle, threads, processes; idle, threads,
processes; ...) so that drift of a shared machine hits each alike. In every round each
condition gets the same measuring window; loads start before it and stop after it.
Round trips are counted for the whole window, never extrapolated. The result is one
document (schema below); :mod:`producer.convoy.text` and :mod:`producer.convoy.plot`
turn it into words and a picture. This module prints nothing.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from producer.convoy import load
from producer.convoy.echo import MESSAGE, EchoClient, EchoServer
from producer.errors import ConvoyError
from producer.measure import host, stats
from producer.version import __version__

SCHEMA_VERSION = 1
"""Version 1: the first convoy document. Fields may be added without a bump."""
CONDITIONS = ("idle", "threads", "processes")
WARMUP_S = 0.2
"""Seconds of round trips before the first round, not counted (connection, caches)."""
TIMELINE_LIMIT = 20_000
"""Round trips kept per condition for the timeline (of the last round); more are thinned evenly."""


@dataclass(frozen=True)
class ConvoySettings:
    tasks: int
    """CPU-bound threads, or processes, beside the server (the idle condition has none)."""
    duration: float = 1.0
    """Seconds of round trips per condition per round."""
    rounds: int = 3
    timeout: float = 30.0
    """Seconds any one wait may take: a round trip, the client's answer, a load starting or stopping."""
    environ: dict[str, str] = field(default_factory=dict)
    """What the client and load processes inherit (read once, at the edge)."""


Progress = Callable[[int, int, str], None]
"""progress(round, rounds, condition) before each measuring window."""


def percentile(values, q: float) -> float:
    """The q-th percentile (0-100), interpolated between the two nearest ranks."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _summary(values) -> dict:
    """stats.describe without the values, plus the 99th percentile."""
    data = stats.describe(values).as_dict()
    del data["values"]
    data["p99"] = percentile(values, 99)
    return data


def _measure_round(client: EchoClient, server: EchoServer, kind: str, settings: ConvoySettings) -> dict:
    with load.make(kind, settings.tasks, settings.timeout, settings.environ) as running:
        starts, latencies = client.measure(settings.duration)
    server.check()
    if not latencies:
        raise ConvoyError(f"no round trip completed in {settings.duration:g} s under {kind}")
    span = starts[-1] + latencies[-1]
    return {
        "samples": len(latencies),
        "span_s": span,
        "requests_per_s": len(latencies) / span,
        "median_s": statistics.median(latencies),
        "p99_s": percentile(latencies, 99),
        "max_s": max(latencies),
        "load_chunks_per_s": running.chunks_per_s(),
        "starts": starts,
        "latencies": latencies,
    }


def _ratio(rounds: list[dict], field: str, reference: list[dict]) -> dict:
    ratios = [r[field] / ref[field] for r, ref in zip(rounds, reference, strict=True)]
    interval = stats.ratio_interval(ratios)
    return {
        "values": ratios,
        "median": statistics.median(ratios),
        "low": interval[0] if interval else None,
        "mid": interval[1] if interval else statistics.median(ratios),
        "high": interval[2] if interval else None,
    }


def _timeline(last: dict) -> dict:
    starts, latencies = last["starts"], last["latencies"]
    step = max(1, -(-len(latencies) // TIMELINE_LIMIT))
    return {
        "thinned_every": step,
        "t_s": [round(t, 7) for t in starts[::step]],
        "latency_s": [round(x, 8) for x in latencies[::step]],
    }


def _condition(kind: str, rounds: list[dict], idle: list[dict], tasks: int) -> dict:
    every = [x for r in rounds for x in r["latencies"]]
    per_round = [{k: v for k, v in r.items() if k not in ("starts", "latencies")} for r in rounds]
    return {
        "condition": kind,
        "tasks": 0 if kind == "idle" else tasks,
        "samples": len(every),
        "latency_s": _summary(every),
        "median_s": stats.describe([r["median_s"] for r in rounds]).as_dict(),
        "p99_s": stats.describe([r["p99_s"] for r in rounds]).as_dict(),
        "requests_per_s": stats.describe([r["requests_per_s"] for r in rounds]).as_dict(),
        "load_chunks_per_s": stats.describe([r["load_chunks_per_s"] for r in rounds]).as_dict(),
        "vs_idle": {
            "median": _ratio(rounds, "median_s", idle),
            "p99": _ratio(rounds, "p99_s", idle),
            "requests_per_s": _ratio(rounds, "requests_per_s", idle),
        },
        "rounds": per_round,
        "timeline": _timeline(rounds[-1]),
    }


CONVOY_FACTOR = 2.0
"""A convoy: beside processes the server answers this many times the requests it answers beside
threads (the geometric mean of the per-round ratios), and the ratio's 95% interval lies above 1.
No convoy: the whole interval lies under this factor."""


def finding(conditions: list[dict]) -> dict:
    """Did threads hold the server up more than processes did? Judged on paired per-round requests/s.

    Processes load the CPUs just as threads do, so the ratio of the two isolates the GIL.
    Requests/s counts every wait of the window (it is one over the mean round trip), which
    makes it steadier from round to round than a percentile. Kind: ``convoy``, ``no-convoy``
    or ``unclear``; with one round there is no interval and the single ratio decides.
    """
    by_kind = {c["condition"]: c for c in conditions}
    threads, processes = by_kind["threads"]["rounds"], by_kind["processes"]["rounds"]
    ratio = _ratio(processes, "requests_per_s", threads)
    low = ratio["low"] if ratio["low"] is not None else ratio["mid"]
    high = ratio["high"] if ratio["high"] is not None else ratio["mid"]
    if low > 1 and ratio["mid"] >= CONVOY_FACTOR:
        kind = "convoy"  # surely more, and by a lot
    elif high < CONVOY_FACTOR:
        kind = "no-convoy"
    else:
        kind = "unclear"
    return {
        "kind": kind,
        "factor": CONVOY_FACTOR,
        "processes_vs_threads_requests": ratio,
        "threads_vs_processes_p99": _ratio(threads, "p99_s", processes),
    }


def run(settings: ConvoySettings, progress: Progress | None = None) -> dict:
    """Measure every condition ``settings.rounds`` times, interleaved; return the document."""
    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    machine = host.describe()
    measured: dict[str, list[dict]] = {kind: [] for kind in CONDITIONS}
    began = time.perf_counter()
    with (
        EchoServer(settings.timeout) as server,
        EchoClient(server.port, settings.timeout, settings.environ) as client,
    ):
        client.measure(WARMUP_S)
        for number in range(1, settings.rounds + 1):
            for kind in CONDITIONS:
                if progress:
                    progress(number, settings.rounds, kind)
                result = _measure_round(client, server, kind, settings)
                measured[kind].append({"round": number, **result})
    conditions = [_condition(kind, measured[kind], measured["idle"], settings.tasks) for kind in CONDITIONS]
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "poolbench", "version": __version__, "command": "convoy"},
        "created": created,
        "machine": machine,
        "settings": {
            **{k: v for k, v in asdict(settings).items() if k != "environ"},
            "conditions": list(CONDITIONS),
            "interleaved": True,
            "warmup_s": WARMUP_S,
            "switch_interval_s": sys.getswitchinterval(),
            "transport": "TCP over 127.0.0.1, TCP_NODELAY, one request in flight",
            "message_bytes": len(MESSAGE),
            "server": "one thread of the measuring process, blocking sockets",
            "client": "a process of its own (python -m producer.convoy.child)",
            "load": f"built-in workload countdown, {load.CHUNK:,} steps per chunk, until stopped",
        },
        "environment": settings.environ,
        "elapsed_s": time.perf_counter() - began,
        "conditions": conditions,
        "finding": finding(conditions),
    }
