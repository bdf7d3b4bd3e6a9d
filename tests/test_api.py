"""The Python API: ``from producer import compare`` returns the document and prints nothing."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from producer.api import Run, compare
from producer.errors import UsageError
from tests.helpers import ROOT

SCRIPT = textwrap.dedent(
    """
    import json, sys
    from producer import compare
    from mywork import cube_sum

    small = dict(size=500000, tasks=4, concurrency=2, repeat=2)
    by_object = compare(cube_sum, backends=["threads"], **small)
    by_spec = compare("mywork:cube_sum", backends=["processes"], **small)
    json.dump({"object": by_object, "spec": by_spec,
               "speedups": [by_object.speedup("threads"), by_spec.speedup("processes")]}, sys.stderr)
    """
)
WORK = "def cube_sum(size):\n    return sum(i ** 3 for i in range(size))\n"


def test_a_script_gets_verified_documents_and_nothing_on_stdout(tmp_path):
    (tmp_path / "mywork.py").write_text(WORK)
    (tmp_path / "script.py").write_text(SCRIPT)
    proc = subprocess.run(
        [sys.executable, "script.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": f"{ROOT}:{tmp_path}", "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    got = json.loads(proc.stderr)
    for key, backend in (("object", "threads"), ("spec", "processes")):
        doc = got[key]
        assert doc["ok"] and doc["workload"]["spec"] == "mywork:cube_sum"
        assert [r["backend"] for r in doc["results"]] == ["sequential", backend]
        assert len({r["checksum"] for r in doc["results"]}) == 1  # verified against the baseline
        assert doc["verdict"]["kind"] in ("cpu-bound", "gil-releasing", "io-bound", "mixed", "undecided")
    assert all(s > 0 for s in got["speedups"])


def test_run_accessors_read_the_document():
    run = compare("sleep", size=60, tasks=2, concurrency=2, backends=["threads"], repeat=2, warmup=0)
    assert isinstance(run, Run) and run.ok and run.backends == ["sequential", "threads"]
    assert run.speedup("threads") == run.result("threads")["speedup"]["value"]  # the one statistic
    assert run.median_s("sequential") == run.result("sequential")["wall_s"]["median"]
    assert run.verdict is run["verdict"]
    assert json.loads(run.report("json"))["results"][1]["backend"] == "threads"
    assert "speedup" in run.report()
    with pytest.raises(KeyError, match="did not run"):
        run.result("processes")


def test_a_function_without_an_importable_name_is_refused_before_any_work():
    with pytest.raises(UsageError, match="top level of a module"):
        compare(lambda size: size, backends=["threads"])
    with pytest.raises(UsageError, match="no such backend"):
        compare("squares", backends=["thread"])
