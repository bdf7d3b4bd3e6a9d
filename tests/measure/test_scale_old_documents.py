"""Issue 20: documents written before schema 4 (every round's task records, no ``timeline``)
still load in ``report`` and ``diff``; the fixtures were written by poolbench at schema 2
(commit 8863c0d~1) and schema 3 (53da09c), 6 sleep tasks, sequential, threads, processes."""

from __future__ import annotations

import json

import pytest

from producer.report import lanes, saved
from tests.helpers import ROOT, run_cli

OLD = {2: ROOT / "tests" / "scale_schema2.json", 3: ROOT / "tests" / "scale_schema3.json"}


@pytest.mark.parametrize("version", [2, 3])
def test_an_old_document_reports_and_draws_its_timeline_from_its_rounds(version, tmp_path):
    doc = json.loads(OLD[version].read_text())
    assert doc["schema_version"] == version and "timeline" not in doc["results"][0]
    saved.check(doc, str(OLD[version]))
    line = lanes.timeline(doc["results"][1])
    assert not line.binned and sum(len(lane.bars) for lane in line.lanes) == 6
    proc = run_cli("report", str(OLD[version]), "--html", str(tmp_path / "old.html"))
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert "threads" in proc.stdout and "<svg" in (tmp_path / "old.html").read_text()


def test_old_documents_diff_against_each_other():
    proc = run_cli("diff", str(OLD[2]), str(OLD[3]))
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert "threads" in proc.stdout
