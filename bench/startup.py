"""Start-up: of the embedded stack, of each backend, and of the default ``compare``.

Start-up is never inside a batch time; this says what it costs instead:

- the embedded stack (a private Redis, then one worker per pool answering a ping),
  and Redis alone, each started and stopped ``--runs`` times;
- each backend's own ``start()`` (pools, processes, finding Celery workers and one
  no-op round trip), with the default concurrency of 10;
- the default ``python -m producer compare`` end to end, split by its own JSON into
  the stack's start-up, the backends' start-ups, the batches, and the rest (imports,
  stopping everything, the report);
- ``python -m producer list``: the CLI's own start-up, for scale.

The runs of each kind alternate with the others.

    python bench/startup.py [--runs 5] [--compare-runs 2]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from producer import backends  # noqa: E402
from producer.settings import DEFAULT_BACKENDS, Settings  # noqa: E402
from producer.stack import EmbeddedStack  # noqa: E402


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def stack_startup(pools: list[str]) -> float:
    with EmbeddedStack(Settings(), pools, allow=[]) as stack:
        return stack.startup_s


def backend_startups() -> dict[str, float]:
    times = {}
    with EmbeddedStack(Settings(), ["prefork", "threads"], allow=[]) as stack:
        settings = Settings(broker_url=stack.broker_url)
        for name in DEFAULT_BACKENDS:
            backend = backends.create(name, settings)
            times[name] = timed(backend.start)
            backend.close()
    return times


def default_compare() -> dict[str, float]:
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "producer", "compare", "--no-progress", "--json", "-"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=1800,
    )
    total = time.perf_counter() - t0
    if not proc.stdout.strip():
        raise SystemExit(f"compare failed ({proc.returncode}): {proc.stderr.strip()[-400:]}")
    doc = json.loads(proc.stdout)
    batches = sum(r["wall_s"] for result in doc["results"] for r in result["rounds"])
    starts = sum(result["startup_s"] or 0 for result in doc["results"])
    stack = doc["stack"]["startup_s"]
    return {"total": total, "stack": stack, "backends": starts, "batches": batches,
            "rest": total - stack - starts - batches, "verified": float(doc["ok"])}  # fmt: skip


def describe(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.3f} s"
    q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return f"{statistics.median(values):.3f} s (IQR {q3 - q1:.3f}, {min(values):.3f}-{max(values):.3f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--compare-runs", type=int, default=2)
    opts = parser.parse_args()
    found: dict[str, list[float]] = {}
    cli = [sys.executable, "-m", "producer", "list"]
    for _ in range(opts.runs):
        found.setdefault("Redis alone (start to PONG)", []).append(stack_startup([]))
        found.setdefault("Redis + prefork + threads workers answering", []).append(
            stack_startup(["prefork", "threads"])
        )
        for name, seconds in backend_startups().items():
            found.setdefault(f"backend {name}.start() (concurrency 10)", []).append(seconds)
        found.setdefault("python -m producer list", []).append(
            timed(lambda: subprocess.run(cli, capture_output=True, cwd=ROOT, check=True))
        )
    compares = [default_compare() for _ in range(opts.compare_runs)]
    print(f"start-up, {opts.runs} runs each (median, IQR, min-max), interleaved")
    for label, values in found.items():
        print(f"  {label:<48} {describe(values)}")
    print(f"default `python -m producer compare` ({', '.join(DEFAULT_BACKENDS)}; 10 tasks, concurrency 10, "
          f"5 rounds + 1 warm-up), {opts.compare_runs} runs:")  # fmt: skip
    for part in ("total", "stack", "backends", "batches", "rest"):
        print(f"  {part:<10} {describe([c[part] for c in compares])}")
    print(f"  verified: {all(c['verified'] for c in compares)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
