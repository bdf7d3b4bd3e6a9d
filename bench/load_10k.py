"""10,000 tiny tasks through each Celery pool: exactly once, the producer's memory, nothing left.

For each pool: a private Redis (with a password), one ``python -m worker`` of that pool,
and ``python -m producer compare`` in a process of its own (so that its peak RSS is
the run's own), with the broker's URL in the environment. Then it checks the result
document (every index once per batch, no fault incident, verified against the
baseline) and Redis (no queue, unacknowledged message, result or run key left).
Prints one Markdown table row per pool, for docs/BENCHMARKS.md.

    python bench/load_10k.py [--tasks 10000] [--pools prefork,threads,solo,gevent]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402

from producer.services.process import Child  # noqa: E402
from producer.services.redis import RedisServer  # noqa: E402

CONCURRENCY = {"prefork": 2, "threads": 4, "solo": 1, "gevent": 50}
"""gevent needs slots to spare: with all of them busy it waits 2 s per freed slot."""
KEPT = ("_kombu.", "poolbench:workers:")
"""Keys that outlive a run by design: kombu's bindings and live workers' heartbeats."""


def start_worker(url: str, pool: str, folder: str) -> Child:
    """A worker that dies with this script (``Child``), its output in FOLDER/POOL.log."""
    node_file = os.path.join(folder, f"{pool}.node")
    env = {**os.environ, "REDIS_URL": url, "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-m", "worker", "--pool", pool, "--concurrency", str(CONCURRENCY[pool])]
    worker = Child(pool, [*argv, "--nodename-file", node_file], env, folder, cwd=str(ROOT))
    deadline = time.monotonic() + 60
    while not os.path.exists(node_file):
        if not worker.running or time.monotonic() > deadline:
            raise SystemExit(f"the {pool} worker did not start: {worker.tail()}")
        time.sleep(0.05)
    return worker


def run_pool(pool: str, tasks: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="poolbench-load-") as folder:
        server = RedisServer(folder, password=secrets.token_urlsafe(12))
        server.start(time.monotonic() + 30)
        worker = start_worker(server.url, pool, folder)
        try:
            client = redis.Redis.from_url(server.url)
            before = {k.decode() for k in client.keys("*")}
            out = os.path.join(folder, "out.json")
            args = ["--workload", "sleep", "--size", "0", "--tasks", str(tasks), "--repeat", "1"]
            args += ["--warmup", "0", "--concurrency", str(CONCURRENCY[pool]), "--timeout", "1800"]
            args += ["--backends", f"sequential,celery-{pool}", "--broker-env", "LOAD_BROKER", "--json", out]
            env = {**os.environ, "LOAD_BROKER": server.url, "PYTHONPATH": str(ROOT)}
            env.pop("REDIS_URL", None)
            began = time.perf_counter()
            argv = [sys.executable, "-m", "producer", "compare", *args]
            proc = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True)
            elapsed = time.perf_counter() - began
            left = {k.decode() for k in client.keys("*")} - before
            left = sorted(k for k in left if not k.startswith(KEPT))
            doc = json.loads(Path(out).read_text()) if os.path.exists(out) else None
        finally:
            worker.signal(signal.SIGTERM)
            worker.finish(30)
            server.stop()
    if doc is None:
        raise SystemExit(f"{pool}: no result document (exit {proc.returncode}): {proc.stderr[-2000:]}")
    result = doc["results"][1]
    indexes = [task["index"] for batch in result["rounds"] for task in batch["tasks"]]
    faults = result["settings"].get("faults", {})
    return {
        "pool": pool,
        "concurrency": CONCURRENCY[pool],
        "exit": proc.returncode,
        "ok": result["ok"],
        "once": sorted(indexes) == list(range(tasks)),
        "duplicates": len(indexes) - len(set(indexes)),
        "incidents": faults.get("incident_count"),
        "batch_s": result["wall_s"]["median"] if result["wall_s"] else None,
        "run_s": elapsed,
        "peak_rss_mib": doc["producer"]["peak_rss_bytes"] / 2**20,
        "left": left,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--pools", default="prefork,threads,solo,gevent")
    opts = parser.parse_args()
    rows = [run_pool(pool, opts.tasks) for pool in opts.pools.split(",")]
    print(f"{opts.tasks:,} no-op tasks (sleep 0), one worker per pool, private Redis on 127.0.0.1")
    columns = ["pool", "concurrency", "batch", "tasks/s", "exactly once", "duplicates", "incidents"]
    print("| " + " | ".join([*columns, "producer peak RSS", "keys left"]) + " |")
    print("|---|---|---|---|---|---|---|---|---|")
    failed = False
    for row in rows:
        rate = opts.tasks / row["batch_s"] if row["batch_s"] else 0
        print(
            f"| {row['pool']} | {row['concurrency']} | {row['batch_s']:.1f} s | {rate:,.0f} | "
            f"{'yes' if row['once'] and row['ok'] else 'NO'} | {row['duplicates']} | {row['incidents']} | "
            f"{row['peak_rss_mib']:.0f} MiB | {len(row['left'])} |"
        )
        failed |= not (row["ok"] and row["once"] and row["exit"] == 0) or bool(row["left"])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
