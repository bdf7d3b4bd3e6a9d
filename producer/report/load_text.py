"""The ``load`` report as text, 80 columns: every number with its spread and its settings."""

from __future__ import annotations

import textwrap

from producer.report.kinds import word

COLUMNS = "{:>7} {:>7} {:>5} {:>5} {:<11}{:>6} {:>6} {:>5} {:>5} {:>5} {:>4} {}"
HEADER = (
    COLUMNS.format(
        "offered", "achvd", "p50", "p99", " p99 95%", "p99.9", "max", "wait", "run", "left", "lag", ""
    ),
    COLUMNS.format("/s", "/s", "ms", "ms", " interval", "ms", "ms", "ms", "ms", "tasks", "ms", "").rstrip(),
)
SPEED_GAP = 0.15
"""A call's time alone and with the other CPUs busy differing by more than this: say so."""
STATES = {"ok": "ok", "saturated": "SAT", "refused": "REF", "interrupted": "INT"}


def ms(seconds) -> str:
    if seconds is None:
        return "-"
    v = seconds * 1000
    if v < 10:
        return f"{v:.2f}"
    if v < 100:
        return f"{v:.1f}"
    if v < 10_000:
        return f"{v:.0f}"
    return f"{seconds:.0f}s"


def rate(value) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def state(step: dict) -> str:
    if step.get("refused"):
        return "refused"
    if step.get("interrupted"):
        return "interrupted"
    return "ok" if step["sustained"] else "saturated"


def step_line(step: dict) -> str:
    lat = step["latency"]
    interval = lat.get("p99_interval")
    band = f" {ms(interval[0])}-{ms(interval[1])}" if interval else " -"
    return COLUMNS.format(
        rate(step["offered"]),
        rate(step["achieved"]),
        ms(lat["p50"]),
        ms(lat["p99"]),
        band,
        ms(lat["p999"]),
        ms(lat["max"]),
        ms(step["queue_wait"]["p50"]),
        ms(step["run_time"]["p50"]),
        step["outstanding"],
        ms(step["generator_lag"]["p99"]),
        STATES[state(step)],
    ).rstrip()


def capacity_line(result: dict) -> str:
    c, model = result["capacity"], result.get("model_capacity")
    text = "capacity: " + cap_text(c)
    if c.get("interval") == "bracket" and c.get("saturated"):
        text += " (the bracket its steps left; repeat rates for an interval)"
    elif c.get("interval") == "repetitions":
        text += f" (over {c['repetitions']} repetitions)"
    if c.get("peak"):
        text += f"; peak achieved {rate(c['peak'])}/s"
    if model and c["value"]:
        text += f"\n  model {model['formula']} = {rate(model['value'])}/s; {_against(c, model['value'])}"
    turn = result.get("model_turnaround")
    if turn and c["value"]:
        text += (
            f"\n  with each slot's turnaround (a mean {ms(turn['turnaround_s'])} ms from a call's end to the "
            f"next's start, {turn['gaps']} gaps at {rate(turn['at_rate'])}/s) {turn['formula']} = "
            f"{rate(turn['value'])}/s; {_against(c, turn['value'])}"
        )
    left = result.get("model_cpu_left")
    if left and c["value"]:
        text += (
            f"\n  with the CPU left at {rate(left['at_rate'])}/s: {left['cores_left']:.2f} cores (poolbench "
            f"{left['overhead']:.2f}, of which the producer {left['producer']:.2f}; other programs "
            f"{left['others']:.2f}) -> {rate(left['value'])}/s; {_against(c, left['value'])}"
        )
    return "  " + text


def _against(c: dict, model: float) -> str:
    """The capacity against a model; a capacity never saturated is only a floor."""
    if not model:
        return "no model value"
    if not c.get("saturated"):
        return "not compared: no step saturated, so the capacity is only a floor"
    return f"measured {c['value'] / model - 1:+.0%}"


def _busy_text(base: dict) -> str:
    """The call's time with the other CPUs busy, which the models of parallel pools use, and a
    warning when it differs from the time alone by more than SPEED_GAP, with every call of one
    set slower than every call of the other (a tiny call's jitter alone can differ by 15%)."""
    busy_s = base.get("run_busy_s")
    if not busy_s:
        return ""
    runs = base["runs_busy_s"]
    text = (
        f", {ms(busy_s)} ms with the other CPUs busy ({ms(min(runs))}-{ms(max(runs))}; the models of "
        "pools with a GIL each use it)"
    )
    gap = base["run_s"] / busy_s - 1
    alone = base.get("runs_s") or [base["run_s"]]
    apart = max(alone) < min(runs) or min(alone) > max(runs)  # not two samples of one noise
    if abs(gap) > SPEED_GAP and apart:
        text += (
            f"\nthis machine ran the call {abs(gap):.0%} {'slower' if gap > 0 else 'faster'} alone "
            "than with its other CPUs busy, every time (turbo, frequency scaling, shared caches or "
            "a VM's host can do this): a model built on one call's time is that uncertain here"
        )
    return text


def render(doc: dict, width: int = 80) -> str:
    s = doc["settings"]
    base = doc["baseline"]
    prec = doc["histogram"]
    repeat = "" if s["repeat"] == 1 else f" x{s['repeat']}"
    rates = s["rates"] if s["rates"] == "auto" else ", ".join(map(rate, s["rates"]))
    lines = [
        f"poolbench load: {s['workload']} (size {s['size']:,}, {s['kind']}), concurrency {s['concurrency']}, "
        f"{s['arrivals']} arrivals, seed {s['seed']}",
        f"steps of {s['duration']:g} s{' (longer where 100 tasks need it)' if s['rates'] == 'auto' else ''} "
        f"at rates {rates}{repeat}; broker: {s['broker'] or 'none'}",
        f"baseline: one call {ms(base['run_s'])} ms alone (median of {len(base['runs_s'])}: "
        f"{ms(min(base['runs_s']))}-{ms(max(base['runs_s']))} ms){_busy_text(base)}\ngenerator loop alone: "
        f"{doc['generator']['ceiling']:,.0f} sends/s here",
        f"latency = result time - intended send time; HDR histogram, {prec['significant_digits']} "
        f"significant digits\n(within {prec['relative_error']:.1%}); left = outstanding at the step's end; "
        "SAT saturated, REF refused",
    ]
    loads = [step["loadavg"][0] for r in doc["results"] for step in r["steps"] if step.get("loadavg")]
    if loads:
        lines.append(
            f"machine load (1-min average) during the steps: {min(loads):.2f} to {max(loads):.2f} on "
            f"{doc['machine'].get('cpu_count')} CPUs"
        )
    for result in doc["results"]:
        lines += [
            "",
            f"{result['name']} ({result['model']}, {result['via']}, concurrency {result['concurrency']})",
        ]
        lines += list(HEADER)
        for step in result["steps"]:
            lines.append(step_line(step))
            if step.get("refused"):
                lines.append("  " + step["refused"])
            for problem in step["verified"]["problems"]:
                lines.append(f"  not verified: {problem}")
        lines.append(capacity_line(result))
        if result.get("send_ceiling"):
            lines.append(f"  its generator could send about {result['send_ceiling']:,.0f} tasks/s to it")
        checked = sum(s["verified"]["checked"] for s in result["steps"])
        purged = sum(s["verified"]["abandoned"] for s in result["steps"])
        ok = all(s["verified"]["ok"] for s in result["steps"])
        verified = "all equal to the baseline's, none lost or doubled" if ok else "NOT verified (see above)"
        lines.append(f"  {checked:,} results {verified}; {purged:,} purged unrun after their step")
    lines += [""] + verdict_lines(doc["verdict"], s.get("kind"))
    return "\n".join(fold(line, width) for part in lines for line in part.split("\n")) + "\n"


def fold(line: str, width: int) -> str:
    """A sentence longer than the width goes on, indented, on the next lines."""
    if len(line) <= width:
        return line
    indent = " " * (len(line) - len(line.lstrip()) + 2)
    return textwrap.fill(line, width, subsequent_indent=indent, break_on_hyphens=False)


def verdict_lines(verdict: dict, kind: str | None = None) -> list[str]:
    lines = ["verdict (lowest p99 at each rate, by model; intervals are 95%):"]
    for entry in verdict["at_rate"]:
        parts = []
        for via in ("local", "broker"):
            best = entry.get(via)
            if not best:
                continue
            band = best["interval"]
            said = f"{best['backend']} ({best['model']}) {ms(best['p99'])} ms"
            if band:
                said += f" [{ms(band[0])}-{ms(band[1])}]"
            if not best["decided"]:
                said = f"undecided: {said} ~ {best['against']['backend']}"
            parts.append(f"{via} {said}")
        lines.append(f"  at {rate(entry['rate'])}/s: " + "; ".join(parts))
    for item in verdict["saturates"]:
        lines.append(
            f"  {item['backend']} ({item['model']}, {item['via']}) sustains {cap_text(item['capacity'])}"
        )
    gil = verdict.get("gil")
    if gil and word(kind) in (
        "cpu-bound",
        "mixed",
    ):  # on waits and GIL-free C code the GIL is not the question
        lines.append(
            f"  models with a GIL of their own reach {gil['ratio']:.2f}x the capacity of models sharing one "
            f"({rate(gil['own_gil'])}/s against {rate(gil['shares_gil'])}/s)"
        )
    return lines


def cap_text(c: dict) -> str:
    """'150/s [150-169]', or what is known when no step was sustained or none saturated."""
    if c["value"] is None:
        high = f" (saturated at {rate(c['high'])}/s)" if c.get("high") else ""
        return f"not measured: no step sustained{high}"
    high = rate(c["high"]) if c.get("high") else "?"
    said = f"{rate(c['value'])}/s [{rate(c['low'])}-{high}]"
    return said if c.get("saturated") else f"at least {rate(c['value'])}/s (never saturated)"


__all__ = ["render"]
