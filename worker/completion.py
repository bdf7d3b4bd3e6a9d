"""``--no-result``: a task reports its record to Redis itself, not through the result backend.

Fire and forget still has to be verified. Each task of such a batch stores its record
(summary or error) in the batch's hash under its index and increments the batch's
counter, in one atomic script; the task that brings the counter to the batch's total
pushes once to the batch's ``done`` list, which the producer waits on with a timeout
(``BLPOP``, no polling). The producer then reads the hash, verifies every index once,
and deletes the keys; a task finishing later writes nothing (see ``_STORE``), and
every key expires with the result expiry in any case. The calls of one chunk report
together when the chunk ends (:func:`defer`, :func:`flush`), in one round trip, and a
call that never ran because an earlier one raised is reported as not run.
"""

from __future__ import annotations

import json
import os

import redis

from worker import protocol

_STORE = """
if redis.call('EXISTS', KEYS[2]) == 0 then
  return -1
end
local field = ARGV[1]
if redis.call('HSETNX', KEYS[1], field, ARGV[2]) == 0 then
  redis.call('HSET', KEYS[1], field .. '#' .. redis.call('HLEN', KEYS[1]), ARGV[2])
end
local count = redis.call('INCR', KEYS[2])
if count == 1 then
  redis.call('EXPIRE', KEYS[1], ARGV[3])
end
if count == tonumber(ARGV[4]) then
  redis.call('RPUSH', KEYS[3], count)
  redis.call('EXPIRE', KEYS[3], ARGV[3])
end
return count
"""
"""Store the record (a second run of one index under a field of its own, so the producer
sees it twice), count it, and push ``done`` when the count reaches the total: one round
trip, atomic, four commands for most tasks. The producer creates the counter, with its
expiry, before it sends, and deletes every key when the batch ends: a task that
finishes after that (a batch abandoned at its timeout) finds no counter and writes
nothing, so it cannot leave a key behind. The first record gives the hash its expiry."""

_clients: dict[int, tuple[redis.Redis, object]] = {}
"""One client and script per process: prefork children must not share their parent's sockets."""


def _store_script(url: str):
    pid = os.getpid()
    if pid not in _clients:
        client = redis.Redis.from_url(url)
        _clients[pid] = (client, client.register_script(_STORE))
    return _clients[pid][1]


def report(url: str, report: dict, index: int, record: dict) -> int:
    """Store ``record`` as task ``index`` of the batch ``report`` names; return the batch's count
    (-1: the batch is over and nothing was written)."""
    keys = protocol.completion_keys(str(report.get("token")))
    args = [str(index), json.dumps(record), protocol.RESULT_EXPIRES_S, int(report["total"])]
    return int(_store_script(url)(keys=[keys["records"], keys["count"], keys["done"]], args=args))


_deferred: dict[str, list[tuple[dict, int, dict]]] = {}
"""Chunk (message) id -> its calls' reports, stored together once the chunk ends."""
NOT_RUN = {
    "type": "NotRun",
    "message": "an earlier call of its chunk raised, and Celery's chunks stop at the first failure",
}


def defer(chunk_id: str, report: dict, index: int, record: dict) -> None:
    """Hold a call's report until its chunk ends (:func:`flush`): one round trip per chunk."""
    _deferred.setdefault(chunk_id, []).append((report, index, record))


def flush(url: str, chunk_id: str, calls: list) -> None:
    """Store a chunk's reports in one round trip, and report each call that never ran.

    ``calls`` are the chunk's ``[spec, size, index, report]`` items: a call after one that
    raised never runs, and without its report the producer would wait for it until the
    batch's timeout.
    """
    reports = _deferred.pop(chunk_id, [])
    ran = {index for _, index, _ in reports}
    for call in calls:
        if len(call) >= 4 and isinstance(call[3], dict) and call[2] not in ran:
            reports.append((call[3], call[2], {"index": call[2], "error": dict(NOT_RUN)}))
    if not reports:
        return
    script = _store_script(url)
    pipe = _clients[os.getpid()][0].pipeline(transaction=False)
    for report_, index, record in reports:
        keys = protocol.completion_keys(str(report_.get("token")))
        args = [str(index), json.dumps(record), protocol.RESULT_EXPIRES_S, int(report_["total"])]
        script(keys=[keys["records"], keys["count"], keys["done"]], args=args, client=pipe)
    pipe.execute()
