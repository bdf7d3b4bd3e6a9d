"""The report reads what a backend declared (model, via), never its name: a backend with an
unknown name and a known model is drawn in its model's colour; older documents still read."""

from __future__ import annotations

import re

import pytest

from producer import session
from producer.backends.scripted import Script, installed
from producer.report import declared, plot
from producer.report.palette import COLORS, color_of
from producer.settings import Settings
from tests.helpers import unavailable

SMALL = Settings(workload="sleep", size=40, tasks=4, concurrency=2, repeat=2, warmup=0, timeout=60)


@pytest.fixture(scope="module")
def mystery_doc():
    with installed(Script(), name="mystery", model="processes"):
        return session.run(SMALL.replace(backends=("sequential", "mystery")).check())


def _fill(svg: str, gid: str) -> str:
    group = re.search(rf'<g id="{re.escape(gid)}">(.*?)</g>', svg, re.S)
    assert group, gid
    return re.search(r"fill: (#[0-9a-f]{6})", group.group(1)).group(1)


def test_an_unknown_name_with_a_known_model_gets_its_models_colour(mystery_doc):
    row = mystery_doc["results"][1]
    assert (row["backend"], row["model"], row["via"], row["shares_gil"]) == (
        "mystery",
        "processes",
        "local",
        False,
    )
    assert color_of(row, 7) == COLORS[("local", "processes")] == "#1f6fb4"


def test_the_charts_draw_it_in_that_colour(mystery_doc):
    if not plot.available():
        unavailable("matplotlib is not installed (pip install -e '.[test]')")
    svg = plot.render(mystery_doc, image_format="svg", chart="speedup").decode()
    assert _fill(svg, "speedup-mystery") == "#1f6fb4"
    assert _fill(svg, "speedup-sequential") == COLORS[("local", "serial")]


def test_the_same_model_through_a_broker_is_its_darker_twin():
    local = {"backend": "x", "model": "threads", "via": "local"}
    remote = {"backend": "x", "model": "threads", "via": "broker"}
    assert color_of(local, 0) != color_of(remote, 0)
    assert color_of({"backend": "y", "model": "threads", "via": "local"}, 3) == color_of(local, 0)


def test_an_older_document_is_read_by_what_it_recorded():
    old_pool = {"backend": "celery-prefork", "family": "celery", "pool": "prefork"}
    assert (declared.model_of(old_pool), declared.via_of(old_pool)) == ("processes", "broker")
    old_local = {"backend": "threads [3.13.5t]", "family": "local", "pool": None}
    assert (declared.model_of(old_local), declared.via_of(old_local)) == ("threads", "local")
    assert declared.is_baseline({"backend": "sequential", "family": "local", "pool": None})
    assert not declared.is_baseline(old_local)
    assert declared.is_baseline({"backend": "anything", "baseline": True, "model": "threads"})
