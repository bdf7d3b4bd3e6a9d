"""Tiny-task throughput per Celery pool against the broker's round trip, beside bare Celery.

For each round trip (default 0, 1, 4 and 20 ms) an embedded stack runs with --hosts:
Redis and each pool's workers in namespaces of their own, every path to Redis through
the relay (at rtt=0 too, so that its own cost is in every row alike). In each round,
interleaved: poolbench's Celery backend (one call per message), bare Celery
(bench/bare/celery_batch.py: send_task, then get, through the same relay and workers),
and poolbench with --chunks 20; then, on a second stack with --prefetch 16, poolbench
again. Throughput is tasks / batch wall time, the median over rounds with its range;
the producer's own measured RTT and the load average are printed beside each line.

    sudo .venv/bin/python bench/network.py [--rtt 0,1,4,20] [--tasks 200] [--repeat 3]
        [--pools prefork,threads]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from producer import backends  # noqa: E402
from producer.backends.celery.rtt import measure_rtt  # noqa: E402
from producer.services.relay import LinkShape  # noqa: E402
from producer.settings import Settings  # noqa: E402
from producer.stack import EmbeddedStack  # noqa: E402


class Bare:
    """bench/bare/celery_batch.py kept running: one batch per line written to it."""

    def __init__(self, url: str, queue: str, tasks: int):
        argv = [sys.executable, str(ROOT / "bench" / "bare" / "celery_batch.py"), "--broker", url]
        argv += ["--queue", queue, "--workload", "sleep", "--size", "0", "--tasks", str(tasks)]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)

    def batch(self) -> float:
        self.proc.stdin.write("run\n")
        self.proc.stdin.flush()
        line = json.loads(self.proc.stdout.readline())
        if not line["ok"]:
            raise RuntimeError("bare Celery lost a task")
        return line["wall"]

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def timed(backend, tasks: int) -> float:
    began = time.perf_counter()
    records = backend.run_batch("sleep", 0, tasks)
    wall = time.perf_counter() - began
    if sorted(r["index"] for r in records) != list(range(tasks)) or any("error" in r for r in records):
        raise RuntimeError(f"{backend.name}: a task lost, doubled or failed")
    return wall


def line(label: str, tasks: int, walls: list[float]) -> str:
    rates = sorted(tasks / w for w in walls)
    return f"    {label:<22} {statistics.median(rates):7.0f} tasks/s  [{rates[0]:.0f}-{rates[-1]:.0f}]"


def run_rtt(rtt_ms: float, pools: list[str], tasks: int, repeat: int) -> None:
    shape = LinkShape.parse(f"rtt={rtt_ms}ms")
    base = Settings(hosts=True, link=shape, concurrency=2, startup_timeout=60, timeout=600, worker_timeout=30)
    with (
        EmbeddedStack(base, pools, allow=[]) as plain,
        EmbeddedStack(base.replace(prefetch=16), pools, allow=[]) as deep,
    ):
        rtt = measure_rtt(plain.broker_url)
        print(
            f"rtt {rtt_ms:g} ms asked: producer's PING median {rtt['median_ms']:.2f} ms "
            f"(p99 {rtt['p99_ms']:.2f}); "
            f"load {os.getloadavg()[0]:.2f}; {tasks} tasks of sleep 0, concurrency 2, {repeat} rounds",
            flush=True,
        )
        for pool in pools:
            url, deep_url = plain.broker_url, deep.broker_url
            walls: dict[str, list[float]] = {
                "poolbench": [],
                "bare celery": [],
                "--chunks 20": [],
                "--prefetch 16": [],
            }
            with (
                backends.create(f"celery-{pool}", base.replace(broker_url=url)) as one,
                backends.create(f"celery-{pool}", base.replace(broker_url=url, chunks=20)) as chunked,
                backends.create(
                    f"celery-{pool}", base.replace(broker_url=deep_url, prefetch=16)
                ) as prefetched,
            ):
                bare = Bare(url, pool, tasks)
                try:
                    for _ in range(repeat):
                        walls["poolbench"].append(timed(one, tasks))
                        walls["bare celery"].append(bare.batch())
                        walls["--chunks 20"].append(timed(chunked, tasks))
                        walls["--prefetch 16"].append(timed(prefetched, tasks))
                finally:
                    bare.close()
            print(f"  {pool}:")
            for label, values in walls.items():
                print(line(label, tasks, values), flush=True)
            ratio = statistics.median(walls["bare celery"]) / statistics.median(walls["poolbench"])
            print(f"    poolbench / bare throughput: {ratio:.2f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rtt", default="0,1,4,20")
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pools", default="prefork,threads")
    args = parser.parse_args()
    for rtt in args.rtt.split(","):
        run_rtt(float(rtt), args.pools.split(","), args.tasks, args.repeat)


if __name__ == "__main__":
    main()
