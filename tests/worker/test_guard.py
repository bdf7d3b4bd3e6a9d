"""A worker's word on whether a run is alive (``worker.guard``), on a real Redis that ends
runs, and restarts without their keys."""

from __future__ import annotations

import threading
import time

import pytest
import redis

from tests.faults import private_redis
from worker import guard, protocol

pytestmark = pytest.mark.redis

RUN = "run-under-test"
LONG_GRACE_S = 60.0
"""A grace no noisy machine mistakes for a quick answer, where none should be taken."""


def write_key_after(url: str, delay: float) -> threading.Thread:
    """The producer's part: its run key written again ``delay`` seconds from now."""

    def write() -> None:
        time.sleep(delay)
        redis.Redis.from_url(url).set(protocol.run_key(RUN), "1", ex=protocol.RUN_TTL_S)

    thread = threading.Thread(target=write)
    thread.start()
    return thread


def seen_alive(url: str) -> guard.Guard:
    redis.Redis.from_url(url).set(protocol.run_key(RUN), "1", ex=protocol.RUN_TTL_S)
    checker = guard.Guard(lambda: url)
    assert checker.run_alive(RUN)
    checker._alive_until.clear()  # what it learnt no longer holds: the next call asks Redis
    return checker


def test_a_run_whose_key_a_restarted_redis_lost_is_alive_once_its_producer_writes_it_again(tmp_path):
    with private_redis(tmp_path) as server:
        checker = seen_alive(server.url)
        server.kill()
        server.restart()  # empty: the run key went with the old one
        writer = write_key_after(server.url, 0.5)
        alive = checker.run_alive(RUN, patience=guard.STORE_PATIENCE_S)
        writer.join()
    assert alive, "a result finished as Redis came back would be dropped, and its task run again"


def test_a_run_that_ended_on_the_same_redis_is_dead_at_once(tmp_path, monkeypatch):
    monkeypatch.setattr(guard, "RESTART_GRACE_S", LONG_GRACE_S)
    with private_redis(tmp_path) as server:
        checker = seen_alive(server.url)
        redis.Redis.from_url(server.url).delete(protocol.run_key(RUN))  # the producer ended it
        began = time.monotonic()
        alive = checker.run_alive(RUN, patience=guard.STORE_PATIENCE_S)
        waited = time.monotonic() - began
    assert not alive
    assert waited < LONG_GRACE_S / 2  # no grace: the key was not lost, it was deleted


def test_a_run_whose_key_never_comes_back_after_a_restart_is_dead_after_the_grace(tmp_path):
    with private_redis(tmp_path) as server:
        checker = seen_alive(server.url)
        server.kill()
        server.restart()  # and no producer writes the key again: it was killed meanwhile
        began = time.monotonic()
        alive = checker.run_alive(RUN)
        waited = time.monotonic() - began
    assert not alive and waited >= guard.RESTART_GRACE_S


def test_a_run_never_seen_alive_here_is_dead_without_a_grace(tmp_path, monkeypatch):
    monkeypatch.setattr(guard, "RESTART_GRACE_S", LONG_GRACE_S)
    with private_redis(tmp_path) as server:
        checker = guard.Guard(lambda: server.url)
        began = time.monotonic()
        alive = checker.run_alive(RUN)
        waited = time.monotonic() - began
    assert not alive and waited < LONG_GRACE_S / 2
