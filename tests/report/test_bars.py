"""Error bars (:mod:`producer.report.bars`): distances never negative, a missing bound no bar."""

from __future__ import annotations

from producer.report.bars import spread


def test_distances_are_clamped_at_zero_and_a_missing_bound_is_no_bar():
    below, above = spread([1.0, 2.0, 3.0], [0.5, 2.0000000000000004, None], [1.5, 1.9999999999999998, 3.5])
    assert below == [0.5, 0.0, 0.0]
    assert above == [0.5, 0.0, 0.5]
