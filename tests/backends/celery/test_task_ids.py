"""A batch's task ids: made from its prefix and the index, read back without a map."""

from __future__ import annotations

from producer.backends.celery.results import _pattern
from producer.backends.celery.task_ids import TaskIds


def test_an_id_names_its_index_and_only_ids_given_out_are_known():
    ids = TaskIds("pb-abc-3.", 12)
    assert ids.latest(7) == "pb-abc-3.7" and ids.index_of("pb-abc-3.7") == 7
    for stranger in ["pb-abc-3.12", "pb-abc-3.07", "pb-abc-3.7r1", "pb-abc-4.7", "pb-abc-3.", "x", None, 7]:
        assert ids.index_of(stranger) is None, stranger
    again = ids.renew(7)
    assert again == "pb-abc-3.7r1" and ids.index_of(again) == 7 and ids.index_of("pb-abc-3.7") == 7
    assert ids.index_of("pb-abc-3.7r01") is None and ids.index_of("pb-abc-3.7r2") is None


def test_what_was_sent_and_what_came_back_is_kept_per_id():
    ids = TaskIds("p.", 3)
    assert not ids.published("p.1") and ids.sent_at("p.1") == (None, None)
    ids.sent("p.1", 100.0, 0.002)
    assert ids.published("p.1") and ids.sent_at("p.1") == (100.0, 0.002)
    again = ids.renew(1)
    assert ids.published("p.1") and not ids.published(again) and ids.is_latest(again)
    ids.sent(again, 105.0, 0.003)
    assert ids.sent_at(again) == (105.0, 0.003) and ids.sent_at("p.1") == (100.0, 0.002)
    assert ids.handle("p.1") and not ids.handle("p.1") and ids.handled("p.1") and not ids.handled(again)
    assert list(ids.every()) == ["p.0", "p.1", again, "p.2"]
    assert list(ids.unhandled()) == ["p.0", again, "p.2"]


def test_a_prefix_is_matched_literally_by_its_pattern():
    assert _pattern("pb-1a.2.") == "celery-task-meta-pb-1a.2.*"
    assert _pattern("a*b?[c]") == "celery-task-meta-a\\*b\\?\\[c\\]*"
