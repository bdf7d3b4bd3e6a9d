"""The worker's heartbeat says when it could not reach Redis (``worker.lease``), on a real
worker and a real Redis that goes away for a few seconds and comes back."""

from __future__ import annotations

import time

import pytest

from producer.backends.celery.liveness import Liveness
from tests.faults import beats, private_redis, running_workers, wait_until
from worker import lease, protocol

pytestmark = pytest.mark.redis

AWAY_S = lease.STALL_S + 1
"""Longer than a stall, so the gap is an outage however the failed beats fall."""


def test_a_worker_that_lost_redis_for_a_while_says_so_in_its_next_beat(tmp_path):
    with private_redis(tmp_path) as server:
        with running_workers(server.url, tmp_path, "threads"):
            live = Liveness()
            wait_until(lambda: beats(server.url), 30, "a first heartbeat")
            live.update(beats(server.url), time.monotonic(), time.time())
            assert live.outages() == [] and all("outages" not in e for e in beats(server.url).values())

            server.kill()
            away = time.monotonic()
            time.sleep(AWAY_S)
            server.restart()  # empty: the worker writes its beat again

            entry = wait_until(
                lambda: next((e for e in beats(server.url).values() if e.get("outages")), None),
                3 * protocol.LEASE_RENEW_S,  # it tells at once, once a beat gets through
                "a beat that tells the outage",
            )
            live.update(beats(server.url), time.monotonic(), time.time())
    assert entry["outages"] == 1 and entry["failed"] >= 1
    # the gap between the beats that got through: at least the time Redis was away
    assert entry["outage_s"] >= AWAY_S
    (outage,) = live.outages()
    assert outage.failed == entry["failed"] and outage.seconds == entry["outage_s"]
    assert away <= outage.ended + 1 and "could not reach Redis for" in outage.sentence()
