"""Saved runs of schema 2 (findings as sentences) and 3 (findings as data) both read (issue 15, item 10)."""

from __future__ import annotations

import json

from producer.report import saved, text
from producer.report.messages import codes, render
from tests.fakes import fake_run, make_doc
from tests.helpers import run_cli

SEQ = [1.0, 1.02, 0.98, 1.01, 0.99]


def _new() -> dict:
    threads = fake_run("threads", [1.01, 0.99, 1.0, 1.02, 1.0])
    threads.batches[1].disturbed = ["task 2 was delivered again"]
    return make_doc(
        fake_run("sequential", SEQ, concurrency=1),
        threads,
        fake_run("processes", [0.52, 0.5, 0.51, 0.5, 0.52]),
    )


def _as_version_2(doc: dict) -> dict:
    """What version 2 stored: sentences, the median speedup, no ideal."""
    old = json.loads(json.dumps(doc))
    old["schema_version"] = 2
    for r in old["results"]:
        r["warnings"] = [render(w) for w in r["warnings"]]
        r.pop("ideal", None)
        if r["speedup"]:
            r["speedup"].pop("value")
            r["speedup"].pop("statistic")
    old["verdict"]["notes"] = [render(n) for n in old["verdict"]["notes"]]
    return old


def test_findings_are_codes_with_a_severity_and_their_numbers():
    doc = _new()
    threads = doc["results"][1]
    assert codes(threads["warnings"]) == ["disturbed"]
    assert threads["warnings"][0] == {
        "code": "disturbed",
        "severity": "warn",
        "rounds": 1,
        "causes": ["task 2 was delivered again"],
    }
    assert doc["verdict"]["kind"] == "cpu-bound"
    assert all(isinstance(n, dict) and n["severity"] in ("info", "warn") for n in doc["verdict"]["notes"])
    said = text.render(doc)
    assert "1 disturbed round(s): task 2 was delivered again" in said and "'code'" not in said


def test_a_version_2_run_reads_and_renders_its_sentences(tmp_path):
    new = _new()
    old = _as_version_2(new)
    path = tmp_path / "old.json"
    path.write_text(json.dumps(old))
    saved.check(json.loads(path.read_text()), str(path))
    proc = run_cli("report", str(path))
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert "1 disturbed round(s): task 2 was delivered again" in proc.stdout
    assert "Locally, use processes." in proc.stdout
    newer = tmp_path / "new.json"
    newer.write_text(json.dumps(new))
    proc = run_cli("diff", str(path), str(newer))
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr


def test_an_unknown_code_renders_from_its_numbers():
    assert render({"code": "from-the-future", "severity": "info", "x": 2}) == "from-the-future: x 2"
    assert render("a sentence of version 2") == "a sentence of version 2"
