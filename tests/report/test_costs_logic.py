"""What each task costs, as pure logic: the breakdown, the chunking advice, memory peaks.

Records here are written by hand (pure logic may use fakes); the same code runs on
real records in tests/backends/celery/test_costs.py. The memory sampler is tested on real processes.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time

import pytest

from producer.measure import memory
from producer.measure.breakdown import breakdown, collect, slot_gaps
from producer.report import costs, table
from producer.report.chunking import advise, chunking_notes
from producer.report.messages import render


def record(index, sent, received, started, ended, collected=None, *, pid=1, tid=1, message=None, host="h"):
    rec = {
        "index": index,
        "sent": sent,
        "publish_s": 0.001,
        "received": received,
        "started": started,
        "ended": ended,
        "worker": "w@h",
        "pid": pid,
        "tid": tid,
        "host": host,
    }
    if collected is not None:
        rec["collected"] = collected
    if message is not None:
        rec["message"] = message
    return rec


def test_each_part_comes_from_its_own_timestamps():
    batch = [
        record(0, 100.000, 100.010, 100.011, 100.111, 100.115),
        record(1, 100.002, 100.020, 100.121, 100.221, 100.230),
    ]
    parts = collect([batch])
    assert parts["publish_s"] == [0.001, 0.001]
    assert parts["queue_wait_s"] == pytest.approx([0.010, 0.018])
    assert parts["dispatch_s"] == pytest.approx([0.001, 0.101])
    assert parts["run_s"] == pytest.approx([0.100, 0.100])
    assert parts["result_back_s"] == pytest.approx([0.004, 0.009])
    assert parts["slot_gap_s"] == pytest.approx([0.010])  # one slot: ended 100.111, next started 100.121
    assert parts["message_gap_s"] == []


def test_a_chunk_pays_its_message_costs_once():
    """Three calls in message 0, two in message 1, all on one slot."""
    batch = [
        record(0, 1.0, 1.01, 1.02, 1.03, 1.10, message=0),
        record(1, 1.0, 1.01, 1.031, 1.04, 1.10, message=0),
        record(2, 1.0, 1.01, 1.041, 1.05, 1.10, message=0),
        record(3, 1.001, 1.011, 1.07, 1.08, 1.12, message=1),
        record(4, 1.001, 1.011, 1.081, 1.09, 1.12, message=1),
    ]
    parts = collect([batch])
    assert len(parts["publish_s"]) == len(parts["queue_wait_s"]) == 2  # per message
    assert parts["dispatch_s"] == pytest.approx([0.01, 0.059])  # to each message's first call
    assert parts["result_back_s"] == pytest.approx([0.05, 0.03])  # from each message's last call
    assert parts["message_gap_s"] == pytest.approx([0.02])  # 1.05 -> 1.07
    assert len(parts["slot_gap_s"]) == 4


def test_gaps_are_per_slot_never_across_slots():
    batch = [
        record(0, 0, 0, 1.0, 2.0, pid=1),
        record(1, 0, 0, 1.5, 2.5, pid=2),
        record(2, 0, 0, 2.2, 3.0, pid=1),
    ]
    assert slot_gaps(batch) == pytest.approx([0.2])


def test_breakdown_says_whose_clocks_and_has_spreads():
    batch = [
        record(0, 1.0, 1.01, 1.02, 1.03, 1.04, host="a"),
        record(1, 1.0, 1.01, 1.02, 1.03, 1.05, host="b"),
    ]
    b = breakdown([batch], producer_host="a")
    assert b["clock"] == "across hosts" and b["hosts"] == ["a", "b"]
    assert {"median", "iqr", "p90", "n"} <= set(b["run_s"])
    assert b["messages"] == b["calls"] == 2
    assert breakdown([batch[:1]], producer_host="a")["clock"] == "one host"
    local = [{"index": 0, "started": 1.0, "ended": 2.0}]
    assert breakdown([local], producer_host="a") is None


def test_advice_follows_overhead_against_run_time():
    tiny = advise(run_s=0.002, message_gap_s=0.006, chunks=1, tasks=1000, concurrency=2)
    assert tiny.verdict == "pays" and tiny.share == pytest.approx(0.75)
    assert tiny.suggest == 30  # overhead per call down to 10% of a call: 6 ms / 0.2 ms
    capped = advise(run_s=0.002, message_gap_s=0.006, chunks=1, tasks=12, concurrency=2)
    assert capped.suggest == 6  # every slot still gets a message
    long = advise(run_s=0.200, message_gap_s=0.001, chunks=1, tasks=100, concurrency=2)
    assert long.verdict == "no" and long.suggest is None
    chunked = advise(run_s=0.002, message_gap_s=0.006, chunks=30, tasks=1000, concurrency=2)
    assert chunked.verdict == "marginal" and chunked.suggest is None  # already at the suggestion
    one_each = advise(run_s=0.05, message_gap_s=0.004, chunks=1, tasks=10, concurrency=10)
    assert one_each.verdict == "no"  # --tasks 10 --concurrency 10 on sleep: nothing to chunk


def _celery(name, *, ok=True, model="processes", gap=0.006, run=0.002, cost=0.003, gil=True):
    return {
        "backend": name,
        "family": "celery",
        "via": "broker",
        "model": model,
        "shares_gil": model == "threads",
        "ok": ok,
        "concurrency": 2,
        "python": {"gil_enabled": gil},
        "settings": {"message_cost": {"message_s": cost, "tasks": 8, "slots": 2, "wall_s": 0.012}}
        if cost is not None
        else {},
        "breakdown": {"slot_gap_s": {"median": gap, "iqr": 0.001}, "run_s": {"median": run, "iqr": 0.0001},
                      "queue_wait_s": {"median": 0.19, "iqr": 0.01}},
    }  # fmt: skip


def _doc(*results, cpu=1.0):
    base = {"backend": "sequential", "family": "local", "via": "local", "ok": True,
            "time_split": {"cpu": cpu, "runq": 0.0, "waiting": 1.0 - cpu}}  # fmt: skip
    return {"settings": {"chunks": 1, "tasks": 100}, "results": [base, *results]}


def test_chunking_advice_comes_from_the_measured_message_cost():
    notes = chunking_notes(
        _doc(_celery("celery-a"), _celery("celery-b", ok=False), _celery("celery-c", cost=None))
    )
    assert [(n["code"], n["backend"]) for n in notes] == [("chunking-pays", "celery-a")]
    assert notes[0]["suggest"] == 15 and notes[0]["message_s"] == 0.003  # 3 ms / (10% of 2 ms)
    said = render(notes[0])
    assert said.startswith("Chunking pays on celery-a") and "--chunks 15" in said and "8 no-op tasks" in said
    long = _celery("celery-long", run=0.2, gap=0.2)
    assert chunking_notes(_doc(long)) == []  # a message is under 5% of a task: nothing said
    few = _doc(_celery("celery-a"))
    few["settings"]["tasks"] = 2  # one message per slot already: chunks would save none
    assert chunking_notes(few) == []


def test_a_gil_bound_threads_pool_is_named_starved_not_advised_to_chunk():
    """squares on celery-threads: slots idle 165 ms against a message cost of 3 ms."""
    starved = _celery("celery-threads", model="threads", gap=0.165, run=0.108, cost=0.003)
    notes = chunking_notes(_doc(starved))
    assert [n["code"] for n in notes] == ["gil-starved-consumer"]
    assert "consumer thread was starved" in render(notes[0]) and "Chunking would not help" in render(notes[0])
    assert chunking_notes(_doc(starved, cpu=0.02)) == []  # waiting work: idle slots are not the GIL's
    busy = _doc(starved)
    busy["results"][0]["time_split"] = {"cpu": 0.3, "runq": 0.7, "waiting": 0.0}  # a busy machine
    assert [n["code"] for n in chunking_notes(busy)] == ["gil-starved-consumer"]  # still computing work
    quiet = _celery("celery-threads", model="threads", gap=0.004, run=0.002, cost=0.003)
    assert chunking_notes(_doc(quiet)) == []  # its message share is high, but computing holds the GIL
    free = _celery("celery-threads", model="threads", gap=0.165, run=0.108, cost=0.003, gil=False)
    assert chunking_notes(_doc(free)) == []  # no GIL to starve on, and 3 ms is under 5% of 108 ms


def test_memory_summary_keeps_the_peak_and_its_spread():
    rounds = [
        {"peak_rss_bytes": 100, "peak_uss_bytes": 50, "processes": 2, "scope": "s", "interval_s": 0.02,
         "per_process": [{"pid": 1}]},
        {"peak_rss_bytes": 120, "peak_uss_bytes": None, "processes": 3, "scope": "s", "interval_s": 0.02,
         "per_process": [{"pid": 2}]},
    ]  # fmt: skip
    m = memory.summarise(rounds)
    assert (m["peak_rss_bytes"], m["peak_uss_bytes"], m["processes"]) == (120, 50, 3)
    assert m["per_process"] == [{"pid": 2}]
    assert (m["peak_rss_per_batch"]["min"], m["peak_rss_per_batch"]["max"]) == (100, 120)
    unknown = memory.summarise([memory.unknown_result("remote")])
    assert unknown["peak_rss_bytes"] is None and unknown["unknown"] == "remote"
    assert table.peak_rss({"memory": unknown}) == "unknown"
    assert costs.mib(150 * 2**20) == "150 MiB"


HOLD = "import sys, time\nblock = bytearray({size})\nblock[::4096] = b'x' * len(block[::4096])\n{then}"


def _holding(size: int, then: str = "time.sleep(30)") -> subprocess.Popen:
    """A real process that touches ``size`` bytes (so they are resident) and then waits."""
    code = HOLD.format(size=size, then=then)
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)


def _wait_resident(pid: int, size: int) -> None:
    import psutil

    deadline = time.monotonic() + 20
    while psutil.Process(pid).memory_info().rss < size:
        assert time.monotonic() < deadline, "the child never touched its memory"
        time.sleep(0.02)


def test_sampler_sees_a_real_process_and_its_children():
    size = 64 * 2**20
    inner = HOLD.format(size=size, then="time.sleep(30)")
    child = (
        f"import subprocess; p = subprocess.Popen([sys.executable, '-c', {inner!r}]); "
        "print(p.pid, flush=True); time.sleep(30)"
    )
    parent = _holding(size, then=child)
    try:
        grandchild = int(parent.stdout.readline())
        _wait_resident(parent.pid, size)
        _wait_resident(grandchild, size)
        alone = memory.Sampler(memory.Scope((parent.pid,), False, "one")).start()
        tree = memory.Sampler(memory.Scope((parent.pid,), True, "tree")).start()
        time.sleep(0.15)
        alone, tree = alone.stop(), tree.stop()
    finally:
        parent.kill()
        parent.wait()
        with contextlib.suppress(ProcessLookupError):
            os.kill(grandchild, signal.SIGKILL)
    assert alone["processes"] == 1 and alone["peak_rss_bytes"] >= size
    assert tree["processes"] == 2 and tree["peak_rss_bytes"] >= 2 * size
    assert {p["role"] for p in tree["per_process"]} == {"root", "child"}
    assert tree["samples"] >= 2
    if tree["peak_uss_bytes"] is not None:  # readable for our own processes
        assert tree["peak_uss_bytes"] >= 2 * size * 0.9
        assert tree["peak_uss_bytes"] <= tree["peak_rss_bytes"]


def test_unknown_scope_is_never_zero():
    result = memory.Sampler(memory.unknown("workers elsewhere")).start().stop()
    assert result["peak_rss_bytes"] is None and result["unknown"] == "workers elsewhere"
