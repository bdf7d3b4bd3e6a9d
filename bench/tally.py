"""Issue 20: what folding a result as it arrives costs inside a batch's clock, side by side with
what keeping it did. Checked by hand, recorded in docs/BENCHMARKS.md, never asserted in tests.

A batch's producer appends each result to the sink it was handed: a ``Tally`` (verified,
folded, drawn, let go: ``producer/measure/tally.py``) where it was a ``Records`` (kept by
column, verified and folded after the clock). Both run on the same records, shaped as a
Celery batch's (producer and worker timestamps, 4 slots) and as a local pool's, alternately,
``--repeat`` times; the median microseconds per record are printed, and after the clock what
the kept records still cost (``check_batch`` and the fold, which the tally has done already).

    python bench/tally.py --tasks 100000 --repeat 5
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from producer.measure.records import Records, Summaries  # noqa: E402
from producer.measure.runs import BackendRun, Batch  # noqa: E402
from producer.measure.tally import Tally  # noqa: E402
from producer.measure.verify import check_batch  # noqa: E402


def rows(n: int, celery: bool, seed: int = 1) -> list[dict]:
    rng = random.Random(seed)
    out, clock = [], 1_800_000_000.0
    for i in range(n):
        sent = clock + i * 0.001
        started = sent + rng.uniform(0.0001, 0.002)
        ended = started + rng.uniform(0.0001, 0.003)
        row = {"index": i, "started": started, "ended": ended, "cpu_s": (ended - started) / 2, "runq_s": 0.0,
               "pid": 100 + i % 2, "tid": 140_000_000_000 + i % 4, "summary": {"count": 1}}  # fmt: skip
        if celery:
            row.update(sent=sent, publish_s=rng.uniform(1e-5, 1e-4), received=started - 1e-5,
                       collected=ended + 5e-4, worker="celery@a", host="a")  # fmt: skip
        out.append(row)
    return out


def per_record_us(sink, batch: list[dict]) -> float:
    t0 = time.perf_counter()
    for row in batch:
        sink.append(row)
    return (time.perf_counter() - t0) / len(batch) * 1e6


def after_us(records: Records, n: int, expected: Summaries) -> float:
    """What kept records still cost after the clock: verified, then folded."""
    t0 = time.perf_counter()
    check_batch(records, n, expected)
    run = BackendRun("bench")
    run.batches.append(Batch(1, False, 1.0, 1.0, records))
    run.fold_pending()
    return (time.perf_counter() - t0) / n * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    n = args.tasks
    expected = Summaries([{"count": 1}] * n)
    for shape in ("celery", "local"):
        batch = rows(n, shape == "celery")
        kept, tallied, after = [], [], []
        for _ in range(args.repeat):
            records = Records()
            kept.append(per_record_us(records, batch))
            after.append(after_us(records, n, expected))
            del records
            tally = Tally(n, expected, measured=True)
            tallied.append(per_record_us(tally, batch))
            tally.finish()
        print(
            f"{shape:6} {n:,} records, median of {args.repeat} (min-max), us a record: "
            f"in the clock: Records {statistics.median(kept):.1f} ({min(kept):.1f}-{max(kept):.1f}), "
            f"Tally {statistics.median(tallied):.1f} ({min(tallied):.1f}-{max(tallied):.1f}); "
            f"after it, kept records' check and fold {statistics.median(after):.1f}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
