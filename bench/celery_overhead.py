"""What poolbench's Celery wait adds to a task's round trip, against bare Celery.

Target (issue 3): the batch wait adds no more than a millisecond or two. Both sides
use the same embedded Redis and worker; bare Celery is ``send_task(...).get()``, the
fastest wait Celery offers, and ``GroupResult.get()`` is shown for contrast (it polls).
Round trips alternate between the methods so drift hits them alike.

    python bench/celery_overhead.py [--pool prefork] [--rounds 200]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from celery import group  # noqa: E402

from producer import backends  # noqa: E402
from producer.backends.celery.app import close_app, make_app  # noqa: E402
from producer.settings import Settings  # noqa: E402
from producer.stack import EmbeddedStack  # noqa: E402
from worker.protocol import TASK_NAME  # noqa: E402

TARGET_MS = 2.0


def bare(app, queue: str) -> float:
    t0 = time.perf_counter()
    result = app.send_task(TASK_NAME, args=["sleep", 0], queue=queue)
    result.get(timeout=10)
    elapsed = time.perf_counter() - t0
    result.forget()
    return elapsed


def grouped(app, queue: str) -> float:
    t0 = time.perf_counter()
    result = group(app.signature(TASK_NAME, args=["sleep", 0], queue=queue)).apply_async()
    result.get(timeout=10)
    elapsed = time.perf_counter() - t0
    result.forget()
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pool", default="prefork")
    parser.add_argument("--rounds", type=int, default=200)
    opts = parser.parse_args()
    settings = Settings(concurrency=2, backends=("sequential", f"celery-{opts.pool}"))
    with EmbeddedStack(settings, [opts.pool], allow=[]) as stack:
        settings = settings.replace(broker_url=stack.broker_url)
        with backends.create(f"celery-{opts.pool}", settings) as backend:
            app = make_app(stack.broker_url)  # a plain Celery client: the same app, plus a result backend
            app.conf.result_backend = stack.broker_url
            try:
                ours, theirs = [], []
                for _ in range(opts.rounds):
                    t0 = time.perf_counter()
                    backend.run_batch("sleep", 0, 1)
                    ours.append(time.perf_counter() - t0)
                    theirs.append(bare(app, opts.pool))
                polled = [grouped(app, opts.pool) for _ in range(5)]
            finally:
                close_app(app)

    def line(label, values):
        ms = sorted(v * 1000 for v in values)
        p90 = ms[int(len(ms) * 0.9) - 1]
        return f"  {label:<34} median {statistics.median(ms):7.2f} ms  p90 {p90:7.2f} ms  (n={len(ms)})"

    print(f"no-op round trip, {opts.pool} pool, concurrency 2, embedded Redis on 127.0.0.1")
    print(line("poolbench run_batch (1 task)", ours))
    print(line("bare send_task().get()", theirs))
    print(line("GroupResult.get() (for contrast)", polled))
    added = statistics.median(ours) * 1000 - statistics.median(theirs) * 1000
    print(f"poolbench adds {added:+.2f} ms per round trip (target <= {TARGET_MS} ms)")
    return 0 if added <= TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
