"""Tiny-task throughput through each Celery pool, beside redis-benchmark on the same Redis.

Every configuration runs the same batch of no-op tasks (``sleep 0``) through poolbench's
Celery backend, verified task by task: prefetch multiplier 1 and 16, results on and
off (``--no-result``), one call per message and chunks of ``--chunk-size``. Two
embedded stacks run side by side (the prefetch multiplier is a worker setting), and
the configurations are interleaved round by round with ``redis-benchmark`` against
each stack's Redis, so drift of a shared machine hits them alike. Start-up is never
timed. Redis commands per task come from ``INFO stats`` before and after each batch.

    python bench/throughput.py [--tasks 10000] [--repeat 3] [--pools prefork,threads,solo]

The gevent pool is left out by default: with prefetch 1 and late acks it stalls 2 s
whenever its slots are full (see the report's caveat), which a 10,000-task batch turns
into minutes. Add it with ``--pools ...,gevent`` to see it.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis  # noqa: E402

from producer import backends  # noqa: E402
from producer.measure.verify import check_batch  # noqa: E402
from producer.settings import Settings  # noqa: E402
from producer.stack import EmbeddedStack  # noqa: E402

PUBLISHED = {"threads": 1700, "prefork": 1140}
"""steventen/python_queue_benchmark: 20,000 no-op jobs, 10 workers (another machine)."""
MEASURED_BEFORE = (400, 700)
"""REFERENCE.md: tiny tasks through one worker here, whatever the pool."""


def variants(chunk: int) -> list[tuple[int, bool, int]]:
    """(prefetch, results, calls per message)."""
    return [(1, True, 1), (16, True, 1), (1, False, 1), (16, False, 1), (1, True, chunk), (16, False, chunk)]


def label(prefetch: int, results: bool, chunks: int) -> str:
    return f"prefetch {prefetch:>2}, results {'on ' if results else 'off'}, {chunks:>3} per message"


def commands(client) -> int:
    return int(client.info("stats")["total_commands_processed"])


def redis_benchmark(url: str, clients: int, requests: int) -> dict[str, float]:
    """Requests per second of PING, LPUSH and RPOP (what a Celery task mostly costs Redis)."""
    binary = shutil.which("redis-benchmark")
    if binary is None:
        return {}
    port = url.rsplit(":", 1)[1].split("/")[0]
    out = subprocess.run(
        [binary, "-h", "127.0.0.1", "-p", port, "-q", "-n", str(requests), "-c", str(clients)]
        + ["-t", "ping,lpush,rpop"],
        capture_output=True,
        text=True,
        timeout=300,
    ).stdout
    found = {}
    for line in out.replace("\r", "\n").splitlines():
        match = re.match(r"([A-Z]+)(?:_INLINE|_MBULK)?: ([\d.]+) requests per second", line.strip())
        if match:
            found.setdefault(match.group(1), float(match.group(2)))
    return found


def spread(values: list[float]) -> str:
    if len(values) < 2:
        return f"{values[0]:7.0f}"
    q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return f"{statistics.median(values):7.0f} (IQR {q3 - q1:5.0f}, {min(values):.0f}-{max(values):.0f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--chunk-size", type=int, default=100)
    parser.add_argument("--pools", default="prefork,threads,solo")
    parser.add_argument("--bench-requests", type=int, default=100_000)
    opts = parser.parse_args()
    pools = [p.strip() for p in opts.pools.split(",") if p.strip()]
    base = Settings(concurrency=opts.concurrency, timeout=600, startup_timeout=120)
    stacks = {p: EmbeddedStack(base.replace(prefetch=p), pools, allow=[]) for p in (1, 16)}
    open_backends = []
    rates: dict[tuple, list[float]] = {}
    per_task: dict[tuple, list[float]] = {}
    bench: dict[tuple, list[float]] = {}
    try:
        for stack in stacks.values():
            stack.start()
        configs = []
        for pool in pools:
            for prefetch, results, chunks in variants(opts.chunk_size):
                url = stacks[prefetch].broker_url
                settings = base.replace(broker_url=url, chunks=chunks, no_result=not results)
                backend = backends.create(f"celery-{pool}", settings)
                backend.start()
                open_backends.append(backend)
                configs.append(((pool, prefetch, results, chunks), backend, redis.Redis.from_url(url)))
        for r in range(opts.repeat):
            for key, backend, client in configs:
                before = commands(client)
                t0 = time.perf_counter()
                records = backend.run_batch("sleep", 0, opts.tasks)
                elapsed = time.perf_counter() - t0
                used = commands(client) - before
                problems = check_batch(records, opts.tasks, None)[1]
                if problems:
                    raise SystemExit(f"{key}: not verified: {problems[:3]}")
                rates.setdefault(key, []).append(opts.tasks / elapsed)
                per_task.setdefault(key, []).append(used / opts.tasks)
                print(f"  round {r + 1}: {key[0]:<8} {label(*key[1:])}: {opts.tasks / elapsed:6.0f} tasks/s",
                      file=sys.stderr, flush=True)  # fmt: skip
            for stack in stacks.values():
                for clients in (1, 50):
                    for command, value in redis_benchmark(
                        stack.broker_url, clients, opts.bench_requests
                    ).items():
                        bench.setdefault((command, clients), []).append(value)
        version = stacks[1].describe()["redis"].get("version") or "?"
    finally:
        for backend in open_backends:
            backend.close()
        for stack in stacks.values():
            stack.close()

    print(
        f"tiny-task throughput: {opts.tasks:,} 'sleep 0' tasks per batch, worker concurrency "
        f"{opts.concurrency}, {opts.repeat} interleaved round(s), every task verified; "
        f"Redis {version} on 127.0.0.1"
    )
    print("tasks/s: median (IQR, min-max) over rounds; x = this / the pool's first line")
    for pool in pools:
        reference = statistics.median(rates[(pool, 1, True, 1)])
        for prefetch, results, chunks in variants(opts.chunk_size):
            key = (pool, prefetch, results, chunks)
            ratio = statistics.median(rates[key]) / reference
            cmds = statistics.median(per_task[key])
            name = f"{pool:<8} {label(prefetch, results, chunks)}"
            print(f"  {name}: {spread(rates[key])} tasks/s, x{ratio:4.2f}, {cmds:4.1f} Redis commands/task")
    if not bench:
        print("redis-benchmark not found: apt-get install -y redis-tools")
    else:
        print("redis-benchmark on the same Redis servers, median requests/s (IQR, min-max):")
        for (command, clients), values in sorted(bench.items()):
            print(f"  {command:<6} {clients:>2} client(s): {spread(values)}")
        lpush_1 = statistics.median(bench[("LPUSH", 1)])
        ping_50 = statistics.median(bench[("PING", 50)])
        print("Celery (prefetch 1, results on, 1 per message) against Redis's own capacity:")
        for pool in pools:
            key = (pool, 1, True, 1)
            rate, cmds = statistics.median(rates[key]), statistics.median(per_task[key])
            print(f"  {pool:<8} tasks/s = {rate / lpush_1:5.1%} of one client's LPUSH/s; its {cmds:.1f} "
                  f"commands/task = {rate * cmds / ping_50:5.1%} of PING/s with 50 clients")  # fmt: skip
    print(
        "published (20,000 jobs, 10 workers, another machine): "
        + ", ".join(f"{p} {n:,}/s" for p, n in PUBLISHED.items())
        + f"; measured here before: {MEASURED_BEFORE[0]}-{MEASURED_BEFORE[1]} tasks/s"
    )
    for pool, published in PUBLISHED.items():
        if (pool, 1, True, 1) in rates:
            base_rate = statistics.median(rates[(pool, 1, True, 1)])
            best = max(statistics.median(v) for k, v in rates.items() if k[0] == pool)
            print(f"  {pool}: first line {base_rate / published:4.2f}x the published figure, "
                  f"best configuration {best / published:4.2f}x")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
