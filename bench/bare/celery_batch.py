"""A bare Celery batch timer: its own Celery app, ``send_task`` for each call, then ``get()``.

The tasks run on poolbench's workers (``worker.run_workload``, called by name as any
Celery client would), so both sides of ``bench/overhead.py`` share the workers and
only the producers differ: this is what a user writes without poolbench. One batch
per line read on stdin, its wall time written as a JSON line.

    printf 'run\\n' | python bench/bare/celery_batch.py --broker redis://127.0.0.1:6379/0
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from celery import Celery


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--broker", required=True)
    parser.add_argument("--queue", default="prefork")
    parser.add_argument("--workload", default="squares")
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--tasks", type=int, default=4)
    opts = parser.parse_args()
    app = Celery("bare", broker=opts.broker, backend=opts.broker)
    app.conf.update(task_serializer="json", result_serializer="json", accept_content=["json"])
    app.send_task("worker.run_workload", args=["sleep", 0], queue=opts.queue).get(timeout=30)  # connect
    for _ in sys.stdin:
        t0 = time.perf_counter()
        pending = [
            app.send_task("worker.run_workload", args=[opts.workload, opts.size], queue=opts.queue)
            for _ in range(opts.tasks)
        ]
        results = [result.get(timeout=300) for result in pending]
        wall = time.perf_counter() - t0
        for result in pending:  # outside the clock: kinder to bare Celery than poolbench is to itself
            result.forget()
        ok = len(results) == opts.tasks and all("summary" in r for r in results)
        print(json.dumps({"wall": wall, "ok": ok}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
