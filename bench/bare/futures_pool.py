"""A bare ``concurrent.futures`` batch timer, with nothing of poolbench's machinery.

It runs the function poolbench's ``squares``, ``countdown`` or ``sleep`` runs (imported as a plain
function), in the same shape: one pool made before any clock, then one batch of
``--tasks`` calls per line read on stdin, its wall time written as a JSON line.
``bench/overhead.py`` drives it batch by batch, alternating with poolbench.

    printf 'run\\nrun\\n' | python bench/bare/futures_pool.py --pool threads --workload squares
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from workloads.builtin import countdown, sleep, squares  # noqa: E402  (plain functions)

FUNCTIONS = {"squares": squares, "sleep": sleep, "countdown": countdown}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pool", choices=["threads", "processes"], required=True)
    parser.add_argument("--workload", choices=sorted(FUNCTIONS), default="squares")
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--tasks", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=2)
    opts = parser.parse_args()
    func = FUNCTIONS[opts.workload]
    if opts.pool == "threads":
        pool = concurrent.futures.ThreadPoolExecutor(opts.concurrency)
    else:
        pool = concurrent.futures.ProcessPoolExecutor(opts.concurrency)
    with pool:
        list(pool.map(func, [0] * opts.concurrency))  # start every worker before any clock
        for _ in sys.stdin:
            t0 = time.perf_counter()
            results = list(pool.map(func, [opts.size] * opts.tasks))
            wall = time.perf_counter() - t0
            print(json.dumps({"wall": wall, "ok": len(results) == opts.tasks}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
