"""The baseline timed with the other CPUs busy (:mod:`producer.traffic.busy`): real spinners."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from producer.report import load_text
from producer.traffic import busy, session
from tests.helpers import ROOT


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is gone for our purpose; /proc says which
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_spinners_run_on_the_other_cpus_during_the_block_and_are_gone_after():
    with busy.others_busy(3) as pids:
        assert len(pids) == 2
        assert all(_alive(pid) for pid in pids)
    assert not any(_alive(pid) for pid in pids)


def test_time_busy_times_the_calls_with_the_others_busy_and_none_on_one_cpu():
    calls = []

    def call():
        calls.append(1)
        return {"started": 10.0, "ended": 10.25}

    found = busy.time_busy(call, cpus=2, calls=3)
    assert found == {"run_busy_s": 0.25, "runs_busy_s": [0.25] * 3, "spinners": 1}
    assert len(calls) == 4  # one uncounted, as alone
    assert busy.time_busy(call, cpus=1, calls=3) == {}


def test_parallel_pools_model_on_the_busy_time_and_one_gil_on_the_time_alone():
    class Entry:
        shares_gil = False

    base = {"run_s": 0.064, "run_busy_s": 0.038}
    assert session._t(base, Entry()) == 0.038
    Entry.shares_gil = True
    assert session._t(base, Entry()) == 0.064
    assert session._t({"run_s": 0.05}, Entry()) == 0.05  # an older document: alone only


def test_the_report_says_when_a_call_runs_at_another_speed_alone():
    base = {
        "run_s": 0.0646,
        "runs_s": [0.0640, 0.0646, 0.0652],
        "runs_busy_s": [0.038, 0.0385, 0.039],
        "run_busy_s": 0.0385,
    }
    text = load_text._busy_text(base)
    assert "38.5 ms with the other CPUs busy" in text
    assert "68% slower alone" in text and "every time" in text
    assert "uncertain" not in load_text._busy_text({**base, "run_s": 0.040, "runs_s": [0.039, 0.040, 0.041]})
    # as far apart in the median, but one call alone as fast as the busy ones: jitter, not the machine
    assert "uncertain" not in load_text._busy_text({**base, "runs_s": [0.038, 0.0646, 0.0652]})
    assert load_text._busy_text({"run_s": 0.04}) == ""


def test_a_spinner_dies_with_a_producer_killed_by_sigkill():
    script = (
        "import sys, time\n"
        "from producer.traffic import busy\n"
        "with busy.others_busy(2) as pids:\n"
        "    print(' '.join(map(str, pids)), flush=True)\n"
        "    time.sleep(60)\n"
    )
    producer = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        pids = [int(p) for p in producer.stdout.readline().split()]
        assert len(pids) == 1 and _alive(pids[0])
    finally:
        producer.send_signal(signal.SIGKILL)
        producer.wait(timeout=10)
        producer.stdout.close()
    deadline = time.monotonic() + 10
    while _alive(pids[0]) and time.monotonic() < deadline:
        time.sleep(0.05)
    survived = _alive(pids[0])
    if survived:  # leave nothing spinning, even when this fails
        os.kill(pids[0], signal.SIGKILL)
    assert not survived
