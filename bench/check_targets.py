"""Check the speedup targets of issues 2 and 3 on this machine, and print the figures.

Timings are noisy, so these are checks run by hand (and recorded in docs/BENCHMARKS.md),
never assertions in the test suite. Each check runs ``python -m producer compare`` as a
user would and reads its JSON. Exit status 1 when a target is missed.

    python bench/check_targets.py            # every check (Celery ones start an embedded stack)
    python bench/check_targets.py --local    # only the local backends
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMON = ["--tasks", "4", "--concurrency", "2", "--repeat", "3", "--no-progress", "--json", "-"]

CHECKS = [
    # (label, workload args, backends, {backend: (low, high)}, needs celery)
    (
        "squares, local",
        ["--workload", "squares", "--size", "1000000"],
        "sequential,threads,processes",
        {"processes": (1.5, None), "threads": (0.75, 1.25)},
        False,
    ),
    ("sha256, local", ["--workload", "sha256"], "sequential,threads", {"threads": (1.4, None)}, False),
    (
        "squares, celery",
        ["--workload", "squares", "--size", "1000000"],
        "sequential,celery-prefork,celery-threads",
        {"celery-prefork": (1.4, None), "celery-threads": (0.7, 1.25)},
        True,
    ),
]


def run(args: list[str], backends: str) -> dict:
    proc = subprocess.run(
        [sys.executable, "-m", "producer", "compare", *args, "--backends", backends, *COMMON],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    if not proc.stdout.strip():
        raise SystemExit(f"compare failed (exit {proc.returncode}): {proc.stderr.strip()}")
    return json.loads(proc.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--local", action="store_true", help="skip the Celery checks")
    opts = parser.parse_args()
    missed = 0
    for label, args, backends, targets, celery in CHECKS:
        if celery and opts.local:
            continue
        doc = run(args, backends)
        m = doc["machine"]
        print(
            f"{label}: {m['cpus_usable']} CPUs, {m['python_implementation']} {m['python_version']}, "
            f"GIL {'on' if m['gil_enabled'] else 'off'}, verified {doc['ok']}"
        )
        missed += not doc["ok"]
        for r in doc["results"]:
            sp, wall = r["speedup"], r["wall_s"]
            low, high = targets.get(r["backend"], (None, None))
            good = (low is None or sp["median"] >= low) and (high is None or sp["median"] <= high)
            missed += not good
            bounds = f"target {low or '-'}..{high or '-'}" if r["backend"] in targets else ""
            print(
                f"  {r['backend']:<15} {wall['median'] * 1000:7.1f} ms (IQR {wall['iqr'] * 1000:5.1f} ms)  "
                f"speedup {sp['median']:.2f}x ({sp['paired']['min']:.2f}-{sp['paired']['max']:.2f})  "
                f"CPU/wall {r['cpu_util']['median']:.2f}  {bounds} {'' if good else 'MISSED'}"
            )
    print("all targets met" if not missed else f"{missed} target(s) missed")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
