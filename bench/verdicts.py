"""The verdict on functions poolbench has never seen, on a quiet machine and a busy one.

Issue 8's check: each function runs through ``poolbench compare`` (sequential, threads,
processes; --size auto; --repeat auto) twice: as it is, and with another program keeping
one core busy (``python3 -c 'while True: pass'``, started here and ended by its PID).
The verdict must be right or ``undecided``, never wrong; on the quiet machine it should
decide. Prints one line per run and exits 1 if any verdict is wrong.

    python bench/verdicts.py                 # all five functions, quiet then busy
    python bench/verdicts.py --only quiet    # or busy
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS = textwrap.dedent(
    '''
    import time, zlib

    _DATA = bytes(range(256)) * 4096


    def collatz(size):
        """pure-Python CPU work"""
        total = 0
        for n in range(1, size):
            while n != 1:
                n = n // 2 if n % 2 == 0 else 3 * n + 1
                total += 1
        return total


    def squeeze(size):
        """C code that releases the GIL (zlib)"""
        return sum(len(zlib.compress(_DATA, 6)) for _ in range(size))


    def csum(size):
        """C code that holds the GIL (sum over a range)"""
        return sum(range(size * 1000))


    def waits(size):
        """waiting (sleep)"""
        time.sleep(size / 1000)
        return size


    def do_something(size, out_list):
        """the original signature"""
        for i in range(size):
            out_list.append(i ** 2)
    '''
)
RIGHT = {
    "collatz": {"cpu-bound"},
    "squeeze": {"gil-releasing"},
    "csum": {"cpu-bound"},
    "waits": {"io-bound"},
    "do_something": {"cpu-bound"},
}
"""What each function is, on CPython with the GIL; ``undecided`` is never wrong."""


def run(folder: str, name: str) -> dict:
    args = ["compare", "--workload", f"mine:{name}", "--backends", "threads,processes"]
    args += ["--tasks", "4", "--concurrency", "2", "--no-progress", "--json", "-"]
    proc = subprocess.run(
        [sys.executable, "-m", "producer", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    if proc.returncode != 0:
        return {"kind": f"exit {proc.returncode}: {proc.stderr.strip()[-200:]}", "recommend": {}}
    doc = json.loads(proc.stdout)
    return {**doc["verdict"], "load": doc["load"], "results": doc["results"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["quiet", "busy"])
    conditions = [c for c in ("quiet", "busy") if parser.parse_args().only in (None, c)]
    wrong = 0
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "mine.py").write_text(FUNCTIONS)
        for condition in conditions:
            spinner = None
            if condition == "busy":
                spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
            try:
                for name, right in RIGHT.items():
                    v = run(folder, name)
                    others = ((v.get("load") or {}).get("others_during_cores") or {}).get("median")
                    ok = v["kind"] in right or v["kind"] == "undecided"
                    wrong += not ok
                    speed = ", ".join(
                        f"{r['backend']} {r['comparison']['mid']:.2f}x "
                        f"[{r['comparison']['low']:.2f}-{r['comparison']['high']:.2f}]"
                        for r in v.get("results", [])[1:]
                        if r.get("comparison")
                    )
                    print(
                        f"{condition:5} {name:12} {v['kind']:14} local={v['recommend'].get('local')} "
                        f"{'ok' if ok else 'WRONG'}; others {others if others is None else round(others, 2)} "
                        f"cores; {speed}",
                        flush=True,
                    )
            finally:
                if spinner is not None:
                    os.kill(spinner.pid, signal.SIGKILL)
                    spinner.wait()
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
