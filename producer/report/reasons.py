"""Sentences for the verdict's reason: why the work is of its kind, or why it is undecided.

The verdict stores its reason as data (``{"code", ...its numbers}``, see
:func:`producer.report.verdict.judge`); :func:`producer.report.messages.render` turns it
into the sentence through this table. A speedup is ``{backend, mid, low, high}``.
"""

from __future__ import annotations

from collections.abc import Callable


def _x(s: dict) -> str:
    return f"{s['backend']} {s['mid']:.2f}x [{s['low']:.2f}-{s['high']:.2f}]"


def _kinds(f: dict) -> str:
    return "subinterpreters" if f.get("parallel_model") == "interpreters" else "processes"


def _own_gil(f: dict) -> str:
    return f"while {_kinds(f)}, each with its own GIL, ran it in parallel ({_x(f['parallel'])})"


REASONS: dict[str, Callable[[dict], str]] = {
    "baseline-failed": lambda f: "the sequential baseline did not complete",
    "batches-too-short": lambda f: "the batches were too short to measure; raise --size or --tasks",
    "waits-serialised": lambda f: (
        f"run alone the work waited {f['waiting']:.0%} of the time, yet threads gained nothing "
        f"({_x(f['threads'])}): something serialises the waits"
    ),
    "waits": lambda f: f"run alone, the work spent {f['waiting']:.0%} of its time waiting, not computing",
    "waits-and-computes": lambda f: (
        f"run alone, the work spent {f['waiting']:.0%} of its time waiting and the rest computing"
    ),
    "threads-scaled": lambda f: (
        f"threads scaled ({_x(f['threads'])}): "
        + (
            "the interpreter has no GIL"
            if not f["gil"]
            else "its computing runs in C code that releases the GIL"
        )
    ),
    "threads-not-parallel": lambda f: (
        f"threads ran no work in parallel ({_x(f['threads'])}, keeping {f['threads_cores']:.2f} cores "
        f"busy): the GIL lets one thread run Python at a time, {_own_gil(f)}"
    ),
    "threads-gained-nothing": lambda f: (
        f"threads gained nothing ({_x(f['threads'])}): the GIL lets one thread run Python at a time, "
        f"{_own_gil(f)}"
    ),
    "parallel-above-threads": lambda f: (
        f"{_kinds(f)}, each with its own GIL, ran it faster than threads can: the interval of "
        f"{_x(f['parallel'])} lies wholly above that of {_x(f['threads'])}"
    ),
    "threads-gained-nothing-alone": lambda f: (
        f"threads gained nothing ({_x(f['threads'])}), and no backend with a GIL per worker ran to compare"
    ),
    "neither-faster": lambda f: f"neither threads ({_x(f['threads'])}) nor {_x(f['parallel'])} ran it faster",
    "parallel-unclear": lambda f: (
        f"threads gained nothing ({_x(f['threads'])}); {_x(f['parallel'])}'s gain is not yet clear"
    ),
    "no-threads-parallel-scaled": lambda f: (
        f"{_x(f['parallel'])} scaled, but no thread backend ran, so whether the work holds the GIL is unknown"
    ),
    "no-threads": lambda f: "no thread backend ran, so whether the work holds the GIL is unknown",
    "threads-busy-machine": lambda f: (
        f"threads ran faster ({_x(f['threads'])}) without keeping more cores busy than the baseline: "
        "a busy machine's scheduling, not parallel work"
    ),
    "threads-unclear": lambda f: f"threads' gain is not clear from noise yet ({_x(f['threads'])})",
}
