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


def test_clear_rounds_decide_noisy_rounds_do_not():
    clear = {r: w for r, w in enumerate([0.5, 0.51, 0.49])}
    noisy = {r: w for r, w in enumerate([0.5, 1.4, 0.7, 1.2])}
    assert decide.all_decided(BASE, [clear])
    assert not decide.all_decided(BASE, [clear, noisy])


def test_fewer_than_the_minimum_rounds_never_decide():
    assert not decide.all_decided(BASE, [{0: 0.5, 1: 0.5}])
    assert decide.compare([2.0, 2.0]) is None


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
