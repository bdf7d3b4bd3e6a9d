"""The stopping rule of --repeat auto, on synthetic rounds, and the busy-machine detector, for real."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psutil

from producer.measure import decide, host
from producer.measure.cputime import tree_cpu_s
from producer.measure.stats import outliers, ratio_interval

BASE = {r: 1.0 for r in range(8)}


def test_classes_of_an_interval():
    assert decide.classify(1.5, 1.9) == "faster"
    assert decide.classify(0.5, 0.8) == "slower"
    assert decide.classify(0.95, 1.05) == "same"
    assert decide.classify(0.8, 1.3) == "unclear"


THREADS = {"model": "threads", "via": "local", "shares_gil": True}
PROCESSES = {"model": "processes", "via": "local", "shares_gil": False}
MYSTERY = {"name": "mystery", "model": "processes", "via": "broker", "shares_gil": False}


def _walls(*values):
    return {r: w for r, w in enumerate(values)}


def test_clear_rounds_decide_noisy_rounds_do_not():
    clear = _walls(0.5, 0.51, 0.49)
    noisy = _walls(0.5, 1.4, 0.7, 1.2)
    assert decide.enough([(BASE, None, [(PROCESSES, clear, None), (THREADS, _walls(1.0, 1.01, 0.99), None)])])
    assert not decide.enough([(BASE, None, [(PROCESSES, noisy, None), (THREADS, noisy, None)])])


def test_fewer_than_the_minimum_rounds_never_decide():
    assert not decide.enough([(BASE, None, [(PROCESSES, {0: 0.5, 1: 0.5}, None)])])
    assert decide.compare([2.0, 2.0]) is None


def test_a_separation_decides_while_the_gil_sharing_class_is_unclear():
    """Compose's table: processes [1.38-2.52] wholly above threads [0.83-1.15] decides."""
    threads = decide.Comparison(0.83, 0.98, 1.15, 5, "unclear")
    procs = decide.Comparison(1.38, 1.86, 2.52, 5, "faster")
    assert decide.question(threads, procs) == decide.PARALLEL_WINS
    overlapping = decide.Comparison(1.12, 1.5, 2.0, 5, "faster")
    assert decide.question(threads, overlapping) == decide.OPEN


def test_the_stopping_rule_asks_the_verdicts_question_not_every_class():
    """Threads scale: the answer is there even while processes' own class is unclear."""
    threads = _walls(0.26, 0.25, 0.25, 0.26)
    procs = _walls(0.5, 1.4, 0.7, 1.2)
    assert decide.enough([(BASE, None, [(THREADS, threads, None), (PROCESSES, procs, None)])])
    # the question is asked per via: a broker row of an unknown name is judged by its model
    assert not decide.enough([(BASE, None, [(THREADS, threads, None), (MYSTERY, procs, None)])])
    assert decide.answered(
        [decide.Row("mystery", "processes", "broker", False, decide.Comparison(1.5, 1.8, 2.1, 4, "faster"))]
    )


def test_threads_faster_on_one_core_leave_the_question_open_as_the_verdict_does():
    """A busy machine: threads 2x faster while keeping 0.93 cores busy, the baseline 0.49."""
    threads = _walls(0.5, 0.51, 0.49)
    assert not decide.enough([(BASE, 0.49, [(THREADS, threads, 0.93)])])
    assert decide.enough([(BASE, 0.49, [(THREADS, threads, 1.9)])])
    assert decide.keeps_cores(None, 0.9) and not decide.keeps_cores(1.05, 0.5)


def test_a_batch_too_short_for_any_answer_needs_no_more_rounds():
    short = {r: 0.001 for r in range(3)}
    assert decide.enough([(short, None, [(THREADS, _walls(0.002, 0.0005, 0.001), None)])])


def test_more_rounds_are_estimated_from_the_intervals_width():
    wide = decide.Comparison(1.02, 1.6, 2.5, 4, "faster")
    more = decide.more_rounds(wide)
    assert more is not None and more > 0
    narrow = decide.Comparison(1.5, 1.6, 1.7, 4, "faster")
    assert decide.more_rounds(narrow) == 0
    on_a_bound = decide.Comparison(1.0, 1.1, 1.21, 4, "unclear")
    assert decide.more_rounds(on_a_bound) is None
    # centred on 1.0 it needs to fit the band of 10%, not to leave 1.0 behind: tens of rounds
    near_one = decide.Comparison(0.87, 1.008, 1.16, 18, "unclear")
    assert 10 < decide.more_rounds(near_one) < 100


def test_ratio_interval_is_symmetric_in_logs_and_outliers_are_found():
    low, mid, high = ratio_interval([2.0, 2.0, 2.0])
    assert low == mid == high == 2.0
    low, mid, high = ratio_interval([1.8, 2.2, 2.0])
    assert low < mid < high and abs(mid * mid - low * high) < 1e-9
    assert outliers([1.0, 1.01, 0.99, 1.0, 5.0]) == [4] and outliers([1.0, 1.0, 1.0]) == []


def test_another_program_keeping_a_core_busy_is_seen():
    # Started through a shell that exits at once: the spinner is not our descendant, as
    # another user's program would not be, so our own CPU time does not hide it.
    out = subprocess.run(
        ["sh", "-c", f"{sys.executable} -c 'while True: pass' >/dev/null 2>&1 & echo $!"],
        capture_output=True,
        text=True,
        timeout=10,
    )
    spinner = int(out.stdout.strip())
    try:
        time.sleep(0.3)  # let it start spinning
        assert spinner not in {p.pid for p in psutil.Process().children(recursive=True)}
        others = host.sample_other_load(tree_cpu_s, seconds=1.0)
    finally:
        os.kill(spinner, signal.SIGKILL)
    assert others is not None and others > 0.5
