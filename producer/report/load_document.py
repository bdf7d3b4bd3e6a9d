"""The ``load`` document's kind, schema version and history, and the check of a saved one.

Schema history (kept beside the version, as pyperf does):
    1  (2026-12-05) first version: settings, baseline, generator ceiling, histogram
       precision, results[].steps[] (offered, sent_rate, achieved, latency {p50, p90,
       p99, p999, max, p99_interval}, queue_wait, run_time, outstanding, generator_lag,
       verified, timeline), results[].capacity {value, low, high, ...},
       results[].model_capacity, verdict {at_rate, saturates, gil}.
    2  (2026-12-05) results[].steps[].cpu (cores: tree, calls, overhead, producer,
       others; call_cpu_p50, runq_p50), results[].model_cpu_left (the CPU-bound model with
       the CPU left for calls); ``stack`` is what the families said of their services.
       Version 1 documents read as before (no CPU figures).
    3  (2026-12-06) results[].steps[].settle: ``achieved`` counts the answers that came
       by the step's end plus the first half's median latency (it counted up to the end,
       which called short steady steps of slow calls saturated). Versions 1 and 2 read as
       before; their achieved rates are the old, lower count. steps[].turnaround and
       results[].model_turnaround (slots/(t + g), g a slot's idle time between calls);
       baseline.run_busy_s, runs_busy_s, spinners (the call timed with the other CPUs busy,
       which the models of pools with a GIL each use).
"""

from __future__ import annotations

from producer.errors import UsageError

KIND = "load"
SCHEMA = 3
HISTORY = {
    1: "first version (issue 18)",
    2: "steps[].cpu and results[].model_cpu_left",
    3: "steps[].settle: achieved counts answers by the step's end plus its first half's median latency",
}
RESULT_KEYS = ("name", "model", "via", "steps", "capacity")
STEP_KEYS = ("offered", "achieved", "latency", "outstanding", "generator_lag", "verified")


def is_load(doc) -> bool:
    return isinstance(doc, dict) and doc.get("kind") == KIND


def check(doc, path: str = "the document") -> None:
    """A load document of a schema this version reads, else UsageError (exit 2) saying why."""
    if not is_load(doc):
        raise UsageError(f"'{path}' is not a load document (its kind is not 'load')")
    if doc.get("schema") not in HISTORY:
        raise UsageError(
            f"'{path}' is a load document of schema {doc.get('schema')!r}, and this poolbench reads "
            f"{' and '.join(map(str, HISTORY))}; re-run it with this version"
        )
    results = doc.get("results")
    if not isinstance(results, list) or not results or not isinstance(doc.get("settings"), dict):
        raise UsageError(f"'{path}' is a load document without settings or results")
    for i, result in enumerate(results):
        if not isinstance(result, dict):
            raise UsageError(f"'{path}' is a load document whose results[{i}] is not an object")
        missing = [k for k in RESULT_KEYS if k not in result]
        for j, step in enumerate(result.get("steps") or []):
            missing += [f"steps[{j}].{k}" for k in STEP_KEYS if k not in step]
        if missing:
            raise UsageError(f"'{path}' is a load document whose results[{i}] has no {', '.join(missing)}")
