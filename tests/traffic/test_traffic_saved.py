"""``report`` and ``diff`` read ``load`` documents (issue 18): made-up documents, no services."""

from __future__ import annotations

import copy
import json

import pytest

from producer import cli
from producer.report import load_diff, load_text
from producer.traffic import document
from tests.fakes import fake_run, make_doc
from tests.traffic.test_traffic_logic import _doc


def _load_doc(p99_band=(0.018, 0.022), capacity=None) -> dict:
    doc = {**_doc(), "kind": document.KIND, "schema": document.SCHEMA, "created": "2026-12-05T14:00:00+00:00"}
    doc = copy.deepcopy(doc)
    result = doc["results"][0]
    result["steps"][0]["latency"]["p99_interval"] = list(p99_band)
    result["capacity"] = capacity or {"value": 100.0, "low": 100.0, "high": 150.0, "saturated": True}
    return doc


def _write(tmp_path, name: str, doc: dict) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return str(path)


def test_report_prints_what_load_printed(tmp_path, capsys):
    doc = _load_doc()
    assert cli.main(["report", _write(tmp_path, "a.json", doc)]) == 0
    out = capsys.readouterr().out
    assert out == load_text.render(doc)
    assert "capacity: 100/s [100-150]" in out


def test_report_reads_a_schema_1_load_document(tmp_path, capsys):
    doc = _load_doc()
    doc["schema"] = 1  # no CPU figures, no model with the CPU left
    assert cli.main(["report", _write(tmp_path, "old.json", doc)]) == 0
    assert "capacity: 100/s" in capsys.readouterr().out


def test_report_draws_load_pictures_and_refuses_compare_tables(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    path = _write(tmp_path, "a.json", _load_doc())
    page, png = tmp_path / "a.html", tmp_path / "a.png"
    assert cli.main(["report", path, "--html", str(page), "--plot", str(png)]) == 0
    assert page.read_text().count("<svg") == 1 and png.read_bytes().startswith(b"\x89PNG")
    capsys.readouterr()
    assert cli.main(["report", path, "--csv", str(tmp_path / "a.csv")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not --csv" in err


def test_diff_of_one_document_with_itself_says_no_change(tmp_path, capsys):
    path = _write(tmp_path, "a.json", _load_doc())
    assert cli.main(["diff", path, path]) == 0
    out = capsys.readouterr().out
    assert "no change: every difference is within the intervals" in out
    assert all(len(line) <= 80 for line in out.splitlines()), out
    assert "100 [100-150]" in out and "20.0 [18.0-22.0]" in out  # each figure with its interval


def test_diff_names_changes_beyond_the_intervals_only(tmp_path, capsys):
    a = _write(tmp_path, "a.json", _load_doc())
    overlapping = _load_doc((0.021, 0.03), {"value": 120.0, "low": 120.0, "high": 160.0, "saturated": True})
    assert cli.main(["diff", a, _write(tmp_path, "b.json", overlapping)]) == 0
    assert "no change" in capsys.readouterr().out
    apart = _load_doc((0.05, 0.06), {"value": 200.0, "low": 200.0, "high": 230.0, "saturated": True})
    assert cli.main(["diff", a, _write(tmp_path, "c.json", apart)]) == 0
    out = capsys.readouterr().out
    assert "2 changes beyond the intervals" in out
    assert [line.split()[-1] for line in out.splitlines() if line.startswith("threads")] == ["higher"] * 2


def test_diff_says_when_no_rate_is_shared():
    a, b = _load_doc(), _load_doc()
    b["results"][0]["steps"][0]["offered"] = 77
    assert "no offered rate in common" in load_diff.render(a, b, "a", "b")


def test_diff_refuses_a_load_document_against_a_compare_one(tmp_path, capsys):
    compare = make_doc(fake_run("sequential", [1.0, 1.0], concurrency=1), fake_run("threads", [0.5, 0.5]))
    load = _write(tmp_path, "load.json", _load_doc())
    assert cli.main(["diff", load, _write(tmp_path, "compare.json", compare)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is a load document" in err and "compare.json" in err


def test_a_broken_load_document_is_one_line(tmp_path, capsys):
    doc = _load_doc()
    del doc["results"][0]["steps"][0]["latency"]
    assert cli.main(["report", _write(tmp_path, "bad.json", doc)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "steps[0].latency" in err


def test_a_capacity_never_saturated_is_not_compared_with_the_model():
    doc = _load_doc(capacity={"value": 100.0, "low": 100.0, "high": None, "saturated": False})
    doc["results"][0]["model_capacity"] = {"value": 200.0, "formula": "C/t = 4/0.0200 s"}
    floor = load_text.render(doc)
    assert "only a floor" in floor and "measured" not in floor
    doc["results"][0]["capacity"] = {"value": 100.0, "low": 100.0, "high": 120.0, "saturated": True}
    assert "= 200/s; measured -50%" in load_text.render(doc)
