"""The original script's single-shot numbers beside poolbench's medians, run alternately.

The project began with ``multithreading_test.py`` (see shared/REFERENCE.md): 10
``multiprocessing.Process``, then 10 ``threading.Thread``, each running
``do_something(size, out_list)``, each group timed with one wall clock. It is rebuilt
here as its description says, plus the same 10 calls in sequence, and run as a script
of its own; between its runs, ``python -m producer compare`` runs the same function
from the same file (``--tasks 10 --concurrency 10``, one measured batch after one
warm-up per run). The original's one number per run is set beside poolbench's median
over the runs; the script also says what the original silently lost.

    python bench/original.py [--runs 5] [--size 1000000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

ORIGINAL = """
import multiprocessing
import threading
import time


def do_something(size, out_list):
    for i in range(size):
        out_list.append(i ** 2)


if __name__ == "__main__":
    import json, sys
    size, jobs = int(sys.argv[1]), 10
    out_list = []
    procs = [multiprocessing.Process(target=do_something, args=(size, out_list)) for _ in range(jobs)]
    t0 = time.time()
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    processes = time.time() - t0
    lost = len(out_list)  # the children appended to their own copies
    out_list = []
    threads = [threading.Thread(target=do_something, args=(size, out_list)) for _ in range(jobs)]
    t0 = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    threaded = time.time() - t0
    kept = len(out_list)
    out_list = []
    t0 = time.time()
    for _ in range(jobs):
        do_something(size, out_list)
    sequential = time.time() - t0
    print(json.dumps({"processes": processes, "threads": threaded, "sequential": sequential,
                      "items_after_processes": lost, "items_after_threads": kept}))
"""
BACKENDS = {"sequential": "sequential", "threads": "threads", "processes": "processes"}


def run(argv: list[str]) -> dict:
    proc = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, timeout=900)
    if proc.returncode not in (0, 1) or not proc.stdout.strip():
        raise SystemExit(f"{argv[1]} failed ({proc.returncode}): {proc.stderr.strip()[-400:]}")
    return json.loads(proc.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--size", type=int, default=1_000_000)
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="poolbench-original-") as folder:
        script = Path(folder, "multithreading_test.py")
        script.write_text(ORIGINAL)
        original, ours, verified = [], {name: [] for name in BACKENDS}, []
        for i in range(opts.runs):
            original.append(run([sys.executable, str(script), str(opts.size)]))
            doc = run(
                [sys.executable, "-m", "producer", "compare", "--workload", f"{script}:do_something"]
                + ["--size", str(opts.size), "--tasks", "10", "--concurrency", "10", "--repeat", "1"]
                + ["--warmup", "1", "--backends", ",".join(BACKENDS), "--no-progress", "--json", "-"]
            )
            verified.append(doc["ok"])
            for r in doc["results"]:
                ours[r["backend"]].append(r["wall_s"]["median"])
            last, mine = original[-1], (ours["processes"][-1], ours["threads"][-1])
            progress = f"original {last['processes']:.3f}/{last['threads']:.3f} s, "
            progress += f"poolbench {mine[0]:.3f}/{mine[1]:.3f} s"
            print(f"  run {i + 1}: processes/threads {progress}", file=sys.stderr)
    print(
        f"the original script (10 Process, then 10 Thread, then 10 calls in sequence; do_something"
        f"({opts.size:,}); one wall clock each) and poolbench (--tasks 10 --concurrency 10, the same "
        f"function from the same file), {opts.runs} runs alternated"
    )
    for name in ("processes", "threads", "sequential"):
        single = [run_[name] for run_ in original]
        mine = ours[BACKENDS[name]]
        q1, _, q3 = statistics.quantiles(mine, n=4, method="inclusive") if len(mine) > 1 else (mine[0],) * 3
        shots = ", ".join(f"{v:.3f}" for v in single)
        ratio = statistics.median(mine) / statistics.median(single)
        print(
            f"  {name:<10} original single shots: {shots} s (spread {max(single) / min(single) - 1:.0%}); "
            f"poolbench median {statistics.median(mine):.3f} s (IQR {q3 - q1:.3f}); ratio {ratio:.2f}"
        )
    seq = statistics.median(r["sequential"] for r in original)
    print(
        "  speedup over sequential, original (median of single shots): processes "
        f"{seq / statistics.median(r['processes'] for r in original):.2f}x, threads "
        f"{seq / statistics.median(r['threads'] for r in original):.2f}x; poolbench: processes "
        f"{statistics.median(ours['sequential']) / statistics.median(ours['processes']):.2f}x, threads "
        f"{statistics.median(ours['sequential']) / statistics.median(ours['threads']):.2f}x"
    )
    lost = sorted({r["items_after_processes"] for r in original})
    kept = sorted({r["items_after_threads"] for r in original})
    print(
        f"  what the original kept: {lost} items in out_list after its processes (expected "
        f"{10 * opts.size:,}: the children filled their own copies); after threads {kept}; "
        f"poolbench verified every run: {all(verified)}"
    )
    return 0 if all(verified) else 1


if __name__ == "__main__":
    sys.exit(main())
