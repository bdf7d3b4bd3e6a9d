"""Issue 20: does a run's cost stay bounded as its tasks grow? Checked by hand, recorded in
docs/BENCHMARKS.md, never asserted in the test suite (timings are noisy).

For each task count, runs ``python -m producer compare`` on tiny tasks (``sleep 0``)
through sequential, threads, processes and one Celery pool, ``--repeat 3``, and reads:
the producer's own peak RSS (the document's ``producer.peak_rss_bytes``), the document's
size, ``report --html``'s time, and that every result was verified once per round
(``tasks.verified``). The machine's load is printed beside each line.

    python bench/scale.py                       # 1,000, 10,000 and 100,000 tasks
    python bench/scale.py --tasks 2000,20000 --plot docs/scale-growth.png
    python bench/scale.py --tasks 1000,100000 --against a20ad40   # and that commit, side by side

Targets: at the largest count, producer peak RSS at most 1.5x its figure at the smallest;
a document of at most 2 MB and ``report --html`` under 5 s at every count. Exit 1 when
one is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BACKENDS = "sequential,threads,processes,celery-threads"
MAX_DOC = 2_000_000
MAX_HTML_S = 5.0
MAX_RSS_GROWTH = 1.5
BEFORE = {1000: (7_382_489, 8.25), 5000: (36_812_371, 41.2)}
"""Schema 3 (main at 53da09c), the same command: document bytes and report --html seconds,
drawn beside the new figures (docs/BENCHMARKS.md)."""
BEFORE_RSS = {1000: 61e6, 2000: 66e6, 10000: 105e6, 20000: 157e6, 100000: 517e6}
"""Schema 4 with a batch's records as dicts (main at 1768ac9, 2026-12-05): producer peak RSS."""
COLUMNS_RSS = {1000: 58.7e6, 100000: 86.4e6}
"""A batch's records held by column (main at a20ad40, 2026-12-07, the same command): producer
peak RSS, before results were folded as they arrive."""


def _run(argv: list[str], timeout: float, root: Path = ROOT) -> None:
    """``python -m producer ARGV`` from the checkout at ``root``; on failure, stop with its
    stderr's last lines."""
    done = subprocess.run(
        [sys.executable, "-m", "producer", *argv], cwd=root, capture_output=True, text=True, timeout=timeout
    )
    if done.returncode:
        tail = "\n".join(done.stderr.splitlines()[-5:])
        sys.exit(f"scale: {' '.join(argv[:1])} exited {done.returncode}:\n{tail}")


def measure(tasks: int, folder: Path, backends: str, repeat: int, root: Path = ROOT) -> dict:
    doc_path, html = folder / f"run-{tasks}.json", folder / f"run-{tasks}.html"
    load = os.getloadavg()[0]
    args = ["--workload", "sleep", "--size", "0", "--tasks", str(tasks), "--repeat", str(repeat)]
    args += ["--timeout", "1800"]  # 100,000 tiny tasks through one Celery pool take about 250 s
    t0 = time.perf_counter()
    _run(["compare", *args, "--backends", backends, "--no-progress", "--json", str(doc_path)], 3600, root)
    run_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    _run(["report", str(doc_path), "--html", str(html)], 600, root)
    html_s = time.perf_counter() - t0
    doc = json.loads(doc_path.read_text())
    rounds = (doc["settings"].get("warmup") or 0) + repeat
    verified = all(
        r["ok"] and (r.get("tasks") or {}).get("verified") == rounds * tasks for r in doc["results"]
    )
    return {
        "tasks": tasks,
        "run_s": run_s,
        "producer_rss_bytes": (doc.get("producer") or {}).get("peak_rss_bytes"),
        "document_bytes": doc_path.stat().st_size,
        "html_s": html_s,
        "html_bytes": html.stat().st_size,
        "verified": verified,
        "wall_s": {r["backend"]: round(r["wall_s"]["median"], 4) for r in doc["results"] if r.get("wall_s")},
        "others_cores": ((doc.get("load") or {}).get("others_during_cores") or {}).get("median"),
        "loadavg_before": load,
        "schema_version": doc["schema_version"],
    }


def draw(rows: list[dict], path: str, repeat: int) -> None:
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    x = [r["tasks"] for r in rows]
    rss_limit = MAX_RSS_GROWTH * rows[0]["producer_rss_bytes"] / 1e6
    panels = [
        ("producer peak RSS (MB)", [r["producer_rss_bytes"] / 1e6 for r in rows], rss_limit, None),
        ("JSON document (MB)", [r["document_bytes"] / 1e6 for r in rows], MAX_DOC / 1e6, 0),
        ("report --html time (s)", [r["html_s"] for r in rows], MAX_HTML_S, 1),
    ]
    for ax, (title, y, limit, before) in zip(axes, panels, strict=True):
        ax.plot(x, y, "o-", label="folded as they arrive")
        if before is None:  # the RSS panel: issue 20's earlier steps
            ax.plot(list(BEFORE_RSS), [v / 1e6 for v in BEFORE_RSS.values()], "s--", color="#888888",
                    label="records as dicts")  # fmt: skip
            ax.plot(list(COLUMNS_RSS), [v / 1e6 for v in COLUMNS_RSS.values()], "^:", color="#555555",
                    label="records by column")  # fmt: skip
            ax.set_yscale("log")
            ax.set_yticks([50, 60, 80, 100, 200, 500])
            ax.yaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
            ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        else:
            old = [BEFORE[n][before] / (1e6 if before == 0 else 1) for n in BEFORE]
            ax.plot(list(BEFORE), old, "s--", color="#888888", label="schema 3 (before)")
        if limit:
            ax.axhline(limit, color="#b00020", ls="--", lw=1, label="target")
            ax.legend(fontsize=8)
        ax.set_xscale("log")
        if before is not None:
            ax.set_ylim(bottom=0)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("tiny tasks per batch (log)")
        ax.grid(color="#dddddd")
    fig.suptitle(
        f"poolbench's own cost against tasks per batch ({BACKENDS}, sleep 0, --repeat {repeat})", fontsize=10
    )
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default="1000,10000,100000", help="comma-separated task counts")
    parser.add_argument("--backends", default=BACKENDS)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--plot", help="draw the growth curve into this PNG")
    parser.add_argument(
        "--against", metavar="REF", help="measure this git commit too, each count right after this code's"
    )
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="poolbench-scale-") as folder:
        base = _checkout(args.against, Path(folder) / "against") if args.against else None
        try:
            for tasks in (int(n) for n in args.tasks.split(",")):
                row = measure(tasks, Path(folder), args.backends, args.repeat)
                rows.append(row)
                print(json.dumps({"code": "this", **row}), flush=True)
                if base is not None:
                    old = measure(tasks, Path(folder), args.backends, args.repeat, base)
                    print(json.dumps({"code": args.against, **old}), flush=True)
        finally:
            if base is not None:
                subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=ROOT, check=False)
    if args.plot:
        draw(rows, args.plot, args.repeat)
    first, last = rows[0], rows[-1]
    missed = [
        f"document {r['document_bytes']:,} B at {r['tasks']:,}" for r in rows if r["document_bytes"] > MAX_DOC
    ]
    missed += [
        f"report --html {r['html_s']:.1f} s at {r['tasks']:,}" for r in rows if r["html_s"] > MAX_HTML_S
    ]
    missed += [f"not every result verified at {r['tasks']:,}" for r in rows if not r["verified"]]
    growth = last["producer_rss_bytes"] / first["producer_rss_bytes"]
    if growth > MAX_RSS_GROWTH:
        missed.append(f"producer peak RSS grew {growth:.2f}x from {first['tasks']:,} to {last['tasks']:,}")
    print(f"producer peak RSS {growth:.2f}x from {first['tasks']:,} to {last['tasks']:,} tasks")
    for line in missed:
        print("missed:", line)
    return 1 if missed else 0


def _checkout(ref: str, path: Path) -> Path:
    """A worktree of ``ref``: ``python -m producer`` run from it imports its own code."""
    subprocess.run(["git", "worktree", "add", "--detach", str(path), ref], cwd=ROOT, check=True,
                   capture_output=True)  # fmt: skip
    return path


if __name__ == "__main__":
    sys.exit(main())
