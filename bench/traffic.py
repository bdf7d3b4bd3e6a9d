"""``poolbench load`` against its models: the generator's ceiling, and capacity on sleep and CPU.

1. The generator's own ceiling: the open-loop loop with the local pools' send (a
   message over a Unix socket), every task due at once, five times.
2. Capacity, found with ``--rate auto`` (ladder, then bisection), against a model:
   - ``sleep`` of t seconds at concurrency C: about C/t for every pool;
   - pure-Python ``squares``: threads (and celery-threads) about 1/t whatever C,
     processes (and celery-prefork) about min(C, CPUs)/t.
   t is the sequential baseline's median call, measured in the same run. Each case
   prints measured/model and whether it is within 15%, with the machine's load
   average before and after (the machine is shared: say so beside the numbers).

    python bench/traffic.py [--duration 3] [--concurrency 2] [--backends threads,processes,...]
                            [--cases sleep,cpu] [--save DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from producer.services.environ import inherited  # noqa: E402
from producer.settings import Settings  # noqa: E402
from producer.traffic import generator, session  # noqa: E402

CASES = {"sleep": ("sleep", 20), "cpu": ("squares", 500_000)}
TOLERANCE = 0.15


def ceiling_line() -> str:
    found = [generator.own_ceiling() for _ in range(5)]
    return (
        f"generator ceiling (local send, all due at once): median {statistics.median(found):,.0f} sends/s, "
        f"range {min(found):,.0f}-{max(found):,.0f} over 5 runs"
    )


def run_case(case: str, args) -> list[str]:
    workload, size = CASES[case]
    base = Settings(
        workload=workload,
        size=size,
        concurrency=args.concurrency,
        backends=tuple(args.backends.split(",")),
        environ=inherited(os.environ),
    )
    load = session.LoadSettings(base, None, args.duration, "poisson", args.seed)
    before = os.getloadavg()[0]
    doc = session.run(load, progress=lambda line: print("  ..." + line, file=sys.stderr))
    after = os.getloadavg()[0]
    if args.save:
        Path(args.save).mkdir(parents=True, exist_ok=True)
        path = Path(args.save) / f"load-{case}.json"
        path.write_text(json.dumps(doc, indent=1))
        print(f"  (document: {path})", file=sys.stderr)
    t = doc["baseline"]["run_s"]
    lines = [
        f"{workload} size {size:,}: t = {t * 1000:.1f} ms alone, "
        f"{(doc['baseline'].get('run_busy_s') or t) * 1000:.1f} ms with the other CPUs busy, "
        f"C = {args.concurrency}, "
        f"load average {before:.2f} -> {after:.2f}"
    ]
    for result in doc["results"]:
        c, model = result["capacity"], result["model_capacity"]
        if not c["value"] or not model:
            refused = sum(1 for step in result["steps"] if step.get("refused"))
            lines.append(
                f"  {result['name']:<15} capacity not measured: {len(result['steps'])} steps, "
                f"{refused} refused (generator behind), saturated: {c['saturated']}"
            )
            continue
        high = f"{c['high']:.0f}" if c.get("high") else "?"
        lines.append(
            f"  {result['name']:<15} {c['value']:>6.0f}/s [{c['low']:.0f}-{high}]  "
            f"model {model['formula']} = {_judged(c['value'], model['value'])}"
        )
        turn = result.get("model_turnaround")
        if turn:
            lines.append(
                f"  {'':<15} with each slot's turnaround, mean g = {turn['turnaround_s'] * 1000:.1f} ms "
                f"({turn['gaps']} gaps at {turn['at_rate']:.0f}/s): {turn['formula']} = "
                f"{_judged(c['value'], turn['value'])}"
            )
        left = result.get("model_cpu_left")
        if left:
            lines.append(
                f"  {'':<15} with the CPU left at {left['at_rate']:.0f}/s ({left['cores_left']:.2f} cores: "
                f"poolbench {left['overhead']:.2f}, producer {left['producer']:.3f}, others "
                f"{left['others']:.2f}) = {_judged(c['value'], left['value'])}"
            )
        lines.append(f"  {'':<15} {_cpu_steps(result)}")
    return lines


def _judged(capacity: float, model: float) -> str:
    """'<model>/s  ratio <capacity/model>  within 15%' (or OUTSIDE 15%)."""
    ratio = capacity / model if model else float("inf")
    verdict = "within 15%" if abs(ratio - 1) <= TOLERANCE else "OUTSIDE 15%"
    return f"{model:.0f}/s  ratio {ratio:.2f}  {verdict}"


def _cpu_steps(result: dict) -> str:
    """Per step: offered rate, state, median call CPU and run-queue wait (ms), others' cores."""
    parts = []
    for step in result["steps"]:
        cpu = step.get("cpu") or {}
        state = "REF" if step.get("refused") else ("ok" if step["sustained"] else "SAT")
        call, runq = cpu.get("call_cpu_p50"), cpu.get("runq_p50")
        others = cpu.get("others")
        parts.append(
            f"{step['offered']:.0f}/s {state} cpu {call * 1000 if call else 0:.0f} ms runq "
            f"{runq * 1000 if runq else 0:.0f} ms others {others or 0:.2f}"
        )
    return "; ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=3.0)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--backends", default="threads,processes,celery-threads,celery-prefork")
    parser.add_argument("--cases", default="sleep,cpu")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--save", metavar="DIR", help="write each case's load document there")
    args = parser.parse_args()
    print(ceiling_line())
    for case in args.cases.split(","):
        for line in run_case(case, args):
            print(line, flush=True)


if __name__ == "__main__":
    main()
