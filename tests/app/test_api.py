"""The Python API: ``import poolbench`` (or ``from producer import compare``) returns a Run."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
import textwrap

import pytest

from producer import options
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


@pytest.fixture(scope="module")
def sleep_run():
    return compare("sleep", size=60, tasks=2, concurrency=2, backends=["threads"], repeat=3, warmup=0)


def test_run_accessors_read_the_document(sleep_run):
    run = sleep_run
    assert isinstance(run, Run) and run.ok and run.backends == ["sequential", "threads"]
    c = run.result("threads")["comparison"]
    assert run.interval("threads") == (c["mid"], c["low"], c["high"])  # the table's statistic
    assert run.speedup("threads") == run.result("threads")["speedup"]["value"]  # the one statistic
    assert run.interval("sequential") is None
    assert run.median_s("sequential") == run.result("sequential")["wall_s"]["median"]
    assert run.verdict is run["verdict"]
    assert json.loads(run.report("json"))["results"][1]["backend"] == "threads"
    assert "speedup" in run.report()
    with pytest.raises(KeyError, match="did not run"):
        run.result("processes")


def test_a_run_shows_itself_in_one_line_and_as_html(sleep_run):
    shown = repr(sleep_run)
    assert "\n" not in shown and len(shown) < 100, shown
    assert shown.startswith("<Run sleep: threads ") and shown.endswith(">") and " -> " in shown
    assert str(sleep_run.interval("threads")) in shown  # 1.98x [1.96-2.00]
    html = sleep_run._repr_html_()
    assert html.lstrip().startswith("<") and "threads" in html and "<table" in html


def test_save_and_load_round_trip(sleep_run, tmp_path):
    import poolbench

    path = sleep_run.save(str(tmp_path / "run.json"))
    again = poolbench.load(path)
    assert isinstance(again, poolbench.Run) and again == json.loads(json.dumps(sleep_run))
    assert repr(again) == repr(sleep_run)
    same = again.diff(sleep_run)
    assert "no change" in str(same.changes[0].wording())


def test_every_compare_option_is_a_keyword_with_the_clis_default():
    flags = options.parser("poolbench")._subparsers._group_actions[0].choices["compare"]
    params = inspect.signature(compare).parameters
    terminal_only = {"help", "wide", "verbose", "no_progress"}
    renamed = {"json_path": "json", "plot_path": "plot", "html_path": "html", "markdown_path": "markdown"}
    renamed["csv_path"] = "csv"
    for action in flags._actions:
        if action.dest in terminal_only:
            continue
        name = renamed.get(action.dest, action.dest)
        assert name in params, action.dest
        default = params[name].default
        if action.dest == "backends":
            assert ",".join(default) == action.default
        elif action.dest == "python":
            assert list(default) == action.default
        elif action.dest != "workers":
            assert default == action.default, (action.dest, default, action.default)


def test_bad_values_are_refused_before_any_work_as_the_cli_refuses_them():
    with pytest.raises(UsageError, match="--tasks must be between"):
        compare("squares", tasks=0)
    with pytest.raises(UsageError, match="--chunks"):
        compare("squares", chunks=2, backends=["threads"])


UNGUARDED = """
import poolbench

def work(size):
    return sum(i * i for i in range(size))

run = poolbench.compare(work, size=1000, tasks=2, concurrency=2, backends=["threads"], repeat=1)
print(run)
"""


def test_an_unguarded_script_ends_in_one_line_not_a_hang(tmp_path):
    (tmp_path / "unguarded.py").write_text(UNGUARDED)
    (tmp_path / "producer.py").write_text("raise SystemExit('the user producer.py was imported')\n")
    proc = subprocess.run(
        [sys.executable, "unguarded.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.splitlines() == [
        f"poolbench: error: compare() ran again while importing {tmp_path / 'unguarded.py'}: "
        "put the call under `if __name__ == '__main__':`"
    ]


def test_a_function_without_an_importable_name_is_refused_before_any_work():
    with pytest.raises(UsageError, match="top level of a module"):
        compare(lambda size: size, backends=["threads"])
    with pytest.raises(UsageError, match="no such backend"):
        compare("squares", backends=["thread"])


def test_the_notebook_in_docs_runs_cell_by_cell(tmp_path):
    notebook = json.loads((ROOT / "docs" / "notebook.ipynb").read_text())
    cells = ["".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code"]
    assert cells and "import poolbench" in cells[0]
    script = tmp_path / "notebook.py"
    script.write_text("\n\n".join(cells[:-1] + [cells[-1] + "\nprint(repr(run))"]))
    proc = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.splitlines()
    assert out[-2] == "no change" and out[-1].startswith("<Run sleep: ")
    assert any(line.startswith("This work is") or line.startswith("Undecided") for line in out)
