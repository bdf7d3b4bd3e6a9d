"""CPU time of the process tree: the local backends' children are counted, to the nanosecond on Linux."""

from __future__ import annotations

import os
import sys
import time

import pytest

from producer import backends
from producer.measure import cputime
from producer.settings import Settings

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the process CPU clock is Linux's"
)


def test_the_process_clock_reads_what_process_time_reads():
    before = time.process_time()
    sum(i * i for i in range(200_000))
    read = cputime._process_clock_s(os.getpid())
    after = time.process_time()
    assert before <= read <= after


def test_the_tree_counts_the_work_of_a_local_backends_child():
    with backends.create("sequential", Settings(timeout=60)) as backend:
        before = cputime.tree_cpu_s()
        records = backend.run_batch("countdown", 300_000, 3)
        spent = cputime.tree_cpu_s() - before
    assert records[0]["pid"] != os.getpid()
    assert spent >= sum(record["cpu_s"] for record in records)  # the child's own CPU, and then some
