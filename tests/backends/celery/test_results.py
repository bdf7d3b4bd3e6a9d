"""The result watcher (producer/backends/celery/results.py): a backlog of results heard on one
pattern, every one once and in order, handed on a chunk at a time, with the reader's buffer
kept bounded however many results the backlog holds (issue 20)."""

from __future__ import annotations

import io
import json
import os

import pytest
import redis

from producer.backends.celery.results import CHUNK, COMPACT_AT, ResultWatcher, compact, result_key


class _Reader:
    def __init__(self, data: bytes, read: int):
        self._buffer = io.BytesIO(data)
        self._buffer.seek(read)


class _PubSub:
    """The attribute path compact() follows: pubsub.connection._parser._buffer._buffer."""

    def __init__(self, reader):
        self.connection = type("Connection", (), {"_parser": type("Parser", (), {"_buffer": reader})()})()


def test_compact_keeps_only_the_unread_rest_once_a_megabyte_is_read():
    read = COMPACT_AT + 10
    reader = _Reader(b"x" * read + b"*3\r\n$8\r\npmessage", read)
    compact(_PubSub(reader))
    assert reader._buffer.tell() == 0
    assert reader._buffer.getvalue() == b"*3\r\n$8\r\npmessage"


def test_compact_leaves_a_small_buffer_and_a_reader_of_another_shape_alone():
    small = _Reader(b"abc" * 10, 6)
    compact(_PubSub(small))
    assert (small._buffer.tell(), len(small._buffer.getvalue())) == (6, 30)

    counting = _Reader(b"x" * (COMPACT_AT + 10), COMPACT_AT)
    counting.bytes_written = COMPACT_AT + 10  # redis-py 4's reader keeps its own counts
    compact(_PubSub(counting))
    assert counting._buffer.tell() == COMPACT_AT

    compact(object())  # no connection at all: nothing to do, no error


@pytest.mark.redis
def test_a_backlog_is_heard_once_each_in_order_a_chunk_at_a_time_with_the_buffer_bounded(redis_url):
    prefix = f"pb-test-{os.getpid()}-1."
    tasks = 10 * CHUNK
    payload = "x" * 300  # about a real result's size
    watcher = ResultWatcher(redis_url)
    client = redis.Redis.from_url(redis_url)
    try:
        watcher.watch_prefix(prefix)
        watcher.wait(0.05)  # the PSUBSCRIBE has gone out
        pipe = client.pipeline(transaction=False)
        for index in range(tasks):  # a backlog: everything published before anything is read
            task_id = f"{prefix}{index}"
            meta = {"task_id": task_id, "status": "SUCCESS", "result": {"index": index, "pad": payload}}
            pipe.publish(result_key(task_id), json.dumps(meta))
        pipe.execute()
        heard, sizes, largest_buffer = [], [], 0
        while len(heard) < tasks:
            metas = watcher.wait(5.0)
            assert metas, f"only {len(heard)} of {tasks} results heard"
            sizes.append(len(metas))
            heard += [meta["result"]["index"] for meta in metas]
            reader = watcher._pubsub.connection._parser._buffer
            buffer = getattr(reader, "_buffer", None)
            if isinstance(buffer, io.BytesIO):
                largest_buffer = max(largest_buffer, len(buffer.getvalue()))
        assert heard == list(range(tasks))
        assert max(sizes) == CHUNK  # a backlog is handed on a chunk at a time
        assert watcher.wait(0.05) == []
        total = tasks * (len(payload) + 100)
        if largest_buffer:  # the pure-Python reader: without compact() it would hold every byte
            assert largest_buffer < COMPACT_AT + CHUNK * (len(payload) + 200) + 65536 < total
        watcher.unwatch_prefix(prefix)
    finally:
        watcher.close()
        client.close()
