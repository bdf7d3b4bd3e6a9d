"""poolbench's batch times against independent bare scripts, interleaved. Target: within 5%.

Each case runs the same batch of the same function both ways. Both sides are
long-lived processes that make their pool once and then run one batch per request,
and this script alternates them batch by batch (bare, poolbench, poolbench, bare,
...), so drift of a shared machine hits both alike:

- threads, processes: ``bench/bare/futures_pool.py`` (``concurrent.futures``);
- Celery pools: ``bench/bare/celery_batch.py`` (its own Celery app, ``send_task``
  then ``get()`` each), on the same workers as poolbench: this script starts one
  embedded stack for both, so only the producers differ.

poolbench's side (``--serve``) is this script in a child process: it builds the
backend as ``compare`` does and runs each batch through ``compare``'s own batch path
(``producer.measure.rounds``), memory sampler, CPU accounting, timestamps and
verification included. poolbench asks glibc for one malloc arena (see the README); a
bare script does not, which alone moves allocation-heavy threads by about 15%: the
bare scripts get ``MALLOC_ARENA_MAX=1`` so that the ratio measures overhead only
(``--arenas default`` shows the difference instead). Even so, ``squares`` (a list of a
million ints per call) depends on each process's heap: two processes doing the same
thing differ by up to 10% on threads. ``countdown`` allocates nothing and so shows
the overhead alone.

    python bench/overhead.py [--rounds 15]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET = 0.05
CASES = [
    # (label, backend, workload, size, tasks)
    ("threads, squares 1M x4", "threads", "squares", 1_000_000, 4),
    ("threads, countdown 2M x4", "threads", "countdown", 2_000_000, 4),
    ("processes, squares 1M x4", "processes", "squares", 1_000_000, 4),
    ("processes, countdown 2M x4", "processes", "countdown", 2_000_000, 4),
    ("celery-prefork, squares 1M x4", "celery-prefork", "squares", 1_000_000, 4),
    ("celery-threads, squares 1M x4", "celery-threads", "squares", 1_000_000, 4),
    ("celery-prefork, sleep 0 x200", "celery-prefork", "sleep", 0, 200),
]


class Side:
    """A long-lived process that runs one batch per ``run`` line and answers its wall time."""

    def __init__(self, argv: list[str], env: dict | None = None):
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT, env=env
        )

    def batch(self) -> float:
        self.proc.stdin.write("run\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"{' '.join(self.proc.args[:3])} ended (exit {self.proc.wait()})")
        answer = json.loads(line)
        if not answer["ok"]:
            raise SystemExit(f"{' '.join(self.proc.args[:3])}: a batch was not verified: {answer}")
        return answer["wall"]

    def close(self) -> None:
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def serve(backend_name: str, workload: str, size: int, tasks: int, concurrency: int, broker: str | None):
    """poolbench's side: ``compare``'s backend and batch path, one batch per line on stdin."""
    from producer import backends
    from producer.measure import host
    from producer.measure.rounds import _run_batch
    from producer.measure.runs import BackendRun
    from producer.settings import Settings

    host.share_malloc_arena()  # as session.run does, before any thread
    settings = Settings(tasks=tasks, concurrency=concurrency, broker_url=broker, backends=(backend_name,))
    with backends.create(backend_name, settings) as backend:
        run = BackendRun(backend_name)
        for r, _ in enumerate(sys.stdin):
            _run_batch(run, backend, settings, workload, size, r, None)
            ok = not run.problems and not run.timed_out
            print(json.dumps({"wall": run.batches[-1].wall_s if ok else None, "ok": ok}), flush=True)


def sides(case, opts, broker: str | None) -> tuple[Side, Side]:
    _, backend, workload, size, tasks = case
    common = ["--workload", workload, "--size", str(size), "--tasks", str(tasks)]
    if backend.startswith("celery-"):
        script = [
            "bench/bare/celery_batch.py",
            "--broker",
            broker,
            "--queue",
            backend.removeprefix("celery-"),
        ]
    else:
        script = ["bench/bare/futures_pool.py", "--pool", backend, "--concurrency", str(opts.concurrency)]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    bare_env = env if opts.arenas == "default" else {**env, "MALLOC_ARENA_MAX": "1"}
    ours = [sys.executable, __file__, "--serve", backend, *common, "--concurrency", str(opts.concurrency)]
    return Side([sys.executable, *script, *common], bare_env), Side(ours + ["--broker", broker or ""], env)


def measure(case, opts, broker) -> tuple[list[float], list[float]]:
    bare, ours = sides(case, opts, broker)
    try:
        bare.batch(), ours.batch()  # warm-up, uncounted
        theirs, mine = [], []
        for r in range(opts.rounds):
            order = (bare, ours) if r % 2 == 0 else (ours, bare)  # ABBA: neither always goes first
            for side in order:
                (theirs if side is bare else mine).append(side.batch())
        return theirs, mine
    finally:
        bare.close()
        ours.close()


def iqr(values: list[float]) -> float:
    q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q3 - q1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="measured batches per side and case")
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument(
        "--arenas", choices=["one", "default"], default="one", help="bare scripts' malloc arenas"
    )
    parser.add_argument("--serve", metavar="BACKEND", help=argparse.SUPPRESS)
    parser.add_argument("--workload", default="squares", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--tasks", type=int, default=4, help=argparse.SUPPRESS)
    parser.add_argument("--broker", default="", help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.serve:
        serve(opts.serve, opts.workload, opts.size, opts.tasks, opts.concurrency, opts.broker or None)
        return 0

    from producer.settings import Settings
    from producer.stack import EmbeddedStack

    celery = [case for case in CASES if case[1].startswith("celery-")]
    pools = sorted({backend.removeprefix("celery-") for _, backend, *_ in celery})
    results = {}

    def run(cases, broker):
        for case in cases:
            results[case[0]] = theirs, mine = measure(case, opts, broker)
            print(f"  {case[0]}: {statistics.median(mine) / statistics.median(theirs):.3f}", file=sys.stderr)

    run([case for case in CASES if case not in celery], None)  # no idle stack beside the local cases
    with EmbeddedStack(Settings(concurrency=opts.concurrency), pools, allow=[]) as stack:
        run(celery, stack.broker_url)
    print(
        f"poolbench against bare scripts: {opts.rounds} batches per side, alternated batch by batch "
        f"(ABBA) after one warm-up each; concurrency {opts.concurrency}; bare scripts' malloc arenas: "
        f"{opts.arenas}; Celery: both sides on one embedded Redis and one worker per pool"
    )
    print("ratio = poolbench median / bare median; (pairs) = range of the per-pair ratios' middle half")
    missed = 0
    for label, (theirs, mine) in results.items():
        ratio = statistics.median(mine) / statistics.median(theirs)
        pairs = sorted(m / t for m, t in zip(mine, theirs, strict=True))
        middle = pairs[len(pairs) // 4], pairs[(3 * len(pairs)) // 4]
        good = abs(ratio - 1) <= TARGET
        missed += not good
        print(
            f"  {label:<30} bare {statistics.median(theirs) * 1000:7.1f} ms (IQR {iqr(theirs) * 1000:5.1f})"
            f"  poolbench {statistics.median(mine) * 1000:7.1f} ms (IQR {iqr(mine) * 1000:5.1f})"
            f"  ratio {ratio:5.3f} (pairs {middle[0]:.3f}-{middle[1]:.3f}){'' if good else '  MISSED'}"
        )
    print(f"target: within 1 +/- {TARGET:.0%}: " + ("all met" if not missed else f"{missed} missed"))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
