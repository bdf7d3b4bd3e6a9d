"""Records by column: read back equal to what went in, and every reader gives what it gave
from a list of dicts (verification, the picture, the sample, the per-task breakdown)."""

from __future__ import annotations

import hashlib
import json
import random
import tracemalloc

import pytest

from producer.measure import breakdown
from producer.measure.picture import picture, sample
from producer.measure.records import Records, Summaries
from producer.measure.verify import check_batch, checksum


def celery_like(n: int, seed: int = 1) -> list[dict]:
    """Records shaped as a Celery batch's: producer and worker timestamps, 4 slots."""
    rng = random.Random(seed)
    out, clock = [], 1_800_000_000.0
    for i in range(n):
        sent = clock + i * 0.001
        received = sent + rng.uniform(0.0001, 0.002)
        started = received + rng.uniform(0.00001, 0.0002)
        ended = started + rng.uniform(0.0001, 0.003)
        out.append({
            "index": i, "sent": sent, "publish_s": rng.uniform(1e-5, 1e-4), "received": received,
            "started": started, "ended": ended, "collected": ended + 0.0005,
            "cpu_s": (ended - started) / 2, "pid": 100 + i % 2, "tid": 140_000_000_000 + i % 4,
            "worker": "celery@a", "host": "a", "summary": {"count": i % 3},
        })  # fmt: skip
    return out


def test_records_read_back_equal_to_what_went_in_whatever_their_fields():
    rows = [
        {"index": 0, "started": 1.5, "ended": 2.0, "cpu_s": 0, "summary": {"n": 1}},
        {"index": 1, "started": 2.5, "ended": 3.0, "cpu_s": 0.25, "summary": None, "redelivered": True},
        {"index": 2, "error": {"type": "ValueError", "message": "no"}, "pid": 2**70},
        {"index": "x", "started": float("nan"), "ended": 4, "tid": True},
    ]
    records = Records(rows)
    assert len(records) == 4 and list(records) == rows and records[-1] == rows[-1]
    assert records.get(2, "error")["type"] == "ValueError" and records.get(0, "pid", "none") == "none"
    assert isinstance(records[0]["index"], int) and records[3]["tid"] is True


def test_ints_take_4_bytes_until_one_needs_8_and_read_back_the_same():
    rows = [{"index": 0, "pid": 7}, {"index": 1}, {"index": 2, "pid": 2**40}, {"index": 3, "pid": -5}]
    records = Records(rows)
    assert list(records) == rows
    assert records._columns["index"].cells.itemsize == 4  # 0 to 3: small ints
    assert records._columns["pid"].cells.itemsize == 8  # widened for 2**40, the missing one kept
    records.append({"index": 4, "pid": 0.5})  # a float among ints: floats
    records.append({"index": -(2**31), "pid": 1})  # the small ints' missing marker is a value too
    assert records[4]["pid"] == 0.5 and records[5]["index"] == -(2**31) and records[1].get("pid") is None


def test_a_field_dropped_goes_from_every_record():
    rows = celery_like(50)
    records = Records(rows)
    records.drop("summary")
    assert "summary" not in records[7] and records[7]["started"] == rows[7]["started"]


def test_a_batch_by_column_costs_a_fraction_of_its_dicts():
    rows = [json.dumps(r) for r in celery_like(20_000)]  # each record decoded as it lands
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        as_columns = Records(json.loads(r) for r in rows)
        columns = tracemalloc.get_traced_memory()[0] - before
        before = tracemalloc.get_traced_memory()[0]
        as_dicts = [json.loads(r) for r in rows]
        dicts = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(as_columns) == len(as_dicts)
    assert columns * 5 < dicts, (columns, dicts)  # about 90 bytes a task against 1 KB
    # 7 floats in 8 bytes; index, pid and 3 table entries in 4; the thread id in 8: 84 bytes
    assert columns / len(as_columns) < 100, columns / len(as_columns)


def test_summaries_digest_as_the_list_did():
    values = [{"count": 1, "sum": 2}, None, {"count": 1, "sum": 2}, [1, 2], "x"]
    plain = hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:16]
    assert Summaries(values).digest() == checksum(values) == plain
    assert checksum(Summaries(values)) == plain and Summaries([]).digest() == checksum([])
    assert Summaries(values) == values and list(Summaries(values)) == values


@pytest.mark.parametrize(
    "change, problem",
    [
        (lambda rows: rows.pop(3), "1 of 10 results missing"),
        (lambda rows: rows.append(dict(rows[2])), "task 2 returned twice"),
        (lambda rows: rows[4].update(summary={"count": 9}), "1 of 10 results differ"),
        (lambda rows: rows.append({**rows[0], "index": 12}), "unexpected results for tasks [12]"),
        (lambda rows: rows[5].update(error={"type": "E", "message": "m"}), "task 5 raised E: m"),
    ],
)
def test_verification_by_column_finds_what_it_found_in_dicts(change, problem):
    rows = celery_like(10)
    expected, problems = check_batch(Records(rows), 10, None)
    assert problems == [] and list(expected) == [r["summary"] for r in rows]
    change(rows)
    found = check_batch(Records(rows), 10, expected)[1]
    assert any(problem in p for p in found), found
    assert check_batch(rows, 10, list(expected))[1] == found  # a plain list reads the same


@pytest.mark.parametrize("n", [40, 1_000])
def test_picture_and_sample_are_the_same_from_columns_and_from_dicts(n):
    rows = celery_like(n)
    records = Records(rows)
    assert picture(records) == picture([dict(r) for r in rows])
    assert sample(records) == [{k: v for k, v in r.items() if k != "summary"} for r in rows[:: -(-n // 50)]]
    kind = picture(records)["kind"]
    assert kind == ("tasks" if n <= 300 else "occupancy")


def test_the_streamed_breakdown_holds_the_values_collect_finds_even_a_little_out_of_order():
    rows = celery_like(500)
    rng = random.Random(5)
    arrived = sorted(rows, key=lambda r: r["index"] + rng.uniform(0, 2 * breakdown.REORDER))
    _, listed = _stream(rows, arrived)
    assert len(listed) >= 5


def test_the_streamed_breakdown_of_chunks_holds_the_values_collect_finds():
    rows = celery_like(500)
    for i, row in enumerate(rows):  # messages of 5 calls: they share the message's timestamps
        first = rows[i - i % 5]
        row.update(message=i // 5, sent=first["sent"], publish_s=first["publish_s"],
                   received=first["received"], collected=rows[i - i % 5 + 4]["ended"] + 5e-4)  # fmt: skip
    rng = random.Random(6)
    arrived = sorted(rows, key=lambda r: r["message"] + rng.uniform(0, 3))  # messages interleave
    parts, listed = _stream(rows, arrived)
    assert len(listed) == 6
    assert parts.messages == 100 == len(breakdown.messages(rows))


class _Values(list):
    add = list.append


def _stream(rows: list[dict], arrived: list[dict]) -> tuple[breakdown.Parts, dict]:
    """Feed ``arrived`` to a streamed breakdown; assert it holds, part by part, the values
    ``collect`` finds in ``rows``; return the breakdown and those values."""
    streamed: dict[str, list[float]] = {part: _Values() for part in breakdown.PARTS}
    parts = breakdown.Parts(streamed)
    for row in arrived:
        parts.add(row)
    parts.finish()
    listed = {part: values for part, values in breakdown.collect([rows]).items() if values}
    listed.pop("run_s")  # the fold's own run_s stands for the breakdown's (fold.Fold.breakdown)
    assert {part for part, values in streamed.items() if values} == set(listed)
    for part, values in listed.items():
        assert sorted(streamed[part]) == pytest.approx(sorted(values)), part
    return parts, listed
