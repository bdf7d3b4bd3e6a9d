"""``python -m producer`` run as a user runs it: exit codes, stderr, JSON."""

from __future__ import annotations

import json

import pytest

import workloads
from tests.helpers import ORIGINAL, assert_one_line_error, load_json, run_cli

LOCAL = "sequential,threads,processes"
QUICK = ["--tasks", "3", "--concurrency", "2", "--repeat", "2", "--warmup", "0", "--backends", LOCAL]


def test_list_names_every_workload_and_backend():
    proc = run_cli("list")
    assert proc.returncode == 0 and proc.stderr == ""
    for name in [*workloads.names(), "sequential", "processes", "celery-prefork", "celery-threads"]:
        assert f"  {name} " in proc.stdout


def test_help_lists_the_commands():
    proc = run_cli("--help")
    assert proc.returncode == 0 and "compare" in proc.stdout and "list" in proc.stdout


COMMANDS = ("compare", "sweep", "report", "diff", "list", "convoy")


@pytest.mark.parametrize("command", COMMANDS)
def test_each_help_page_has_a_description_examples_defaults_and_exit_codes(command):
    from producer import options

    proc = run_cli(command, "--help", env={"COLUMNS": "80"})
    assert proc.returncode == 0 and proc.stderr == ""
    page = proc.stdout
    assert max(len(line) for line in page.splitlines()) <= 80
    description = page.split("\n\n")[1]
    assert not description.startswith(("options:", "positional")), page
    examples = page.split("examples:\n")[1].split("\n\n")[0].splitlines()
    assert 2 <= len(examples) <= 3 and all(line.startswith(f"  poolbench {command}") for line in examples)
    assert "exit codes:" in page and "  2    bad input" in page and "143" in page
    parser = options.parser("poolbench")._subparsers._group_actions[0].choices[command]
    for action in parser._actions:  # every flag that has a default says it
        if action.option_strings and action.default not in (None, False) and action.dest != "help":
            assert "default" in (action.help or ""), action.dest
    metavars = {a.metavar for a in parser._actions if a.option_strings and a.metavar}
    assert metavars <= {"N", "S", "MS", "FILE", "PATH", "LIST", "NAME", "URL", "VAR", "FILE.png|.svg"}


def test_sweep_help_promises_its_own_chart_not_a_timeline():
    page = run_cli("sweep", "--help", env={"COLUMNS": "80"}).stdout.replace("\n", " ")
    assert "timeline" not in page and "speedup against concurrency" in page


def test_a_list_of_concurrencies_on_compare_points_to_sweep():
    assert_one_line_error(
        run_cli("compare", "--concurrency", "2,4"), 2, "not '2,4'", "poolbench sweep --concurrency 2,4"
    )


def test_list_fits_80_columns_and_speaks_the_verdicts_words():
    out = run_cli("list").stdout
    assert max(len(line) for line in out.splitlines()) <= 80
    assert "cpu-bound" in out and "gil-releasing" in out and "io-bound" in out
    assert "cpu-nogil" not in out and " io " not in out
    assert any(line.split()[:3] == ["celery-prefork", "processes", "broker"] for line in out.splitlines())


def test_compare_local_writes_verified_json(tmp_path):
    out = tmp_path / "out.json"
    proc = run_cli("compare", "--workload", "squares", "--size", "1000000", *QUICK, "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    doc = load_json(out)
    assert doc["schema_version"] == 4 and doc["ok"] is True
    assert [r["backend"] for r in doc["results"]] == ["sequential", "threads", "processes"]
    assert len({r["checksum"] for r in doc["results"]}) == 1
    machine = doc["machine"]
    assert {"cpu_count", "python_version", "python_implementation", "gil_enabled", "platform"} <= set(machine)
    assert doc["workload"] == {
        "name": "squares",
        "spec": "squares",
        "size": 1000000,
        "tasks": 3,
        "kind": "cpu-bound",
        "description": workloads.BUILTINS["squares"][1].text,
    }
    for result in doc["results"]:
        assert {"median", "min", "max", "stdev", "iqr", "values"} <= set(result["wall_s"])
        assert len(result["wall_s"]["values"]) == 2
        assert result["startup_s"] >= 0 and result["ok"] and not result["too_short"]
        assert result["speedup"]["median"] > 0
        if result["cpu_util"] is None:  # a batch under 100 ms spans too few clock ticks, and says so
            assert "cpu-too-short" in {w["code"] for w in result["warnings"]}
        else:
            assert result["cpu_util"]["median"] > 0
        measured = [r for r in result["rounds"] if not r["warmup"]]
        assert [len(r["tasks"]) for r in measured] == [3, 3]
        assert {"started", "ended", "pid", "tid"} <= set(measured[0]["tasks"][0])
    assert "speedup" in proc.stdout and "verified" in proc.stdout
    assert doc["verdict"]["kind"] in ("cpu-bound", "gil-releasing", "io-bound", "mixed", "undecided")
    assert all(r["family"] == "local" and r["pool"] is None for r in doc["results"])
    assert doc["results"][1]["python"]["gil_enabled"] == machine["gil_enabled"]


def test_json_to_stdout_keeps_the_report_on_stderr():
    proc = run_cli("compare", "--workload", "sleep", "--size", "5", *QUICK, "--json", "-")
    assert proc.returncode == 0
    doc = json.loads(proc.stdout)
    assert doc["ok"] and "speedup" in proc.stderr


def test_sequential_baseline_is_always_added():
    proc = run_cli(
        "compare",
        "--workload",
        "countdown",
        "--size",
        "1000",
        "--backends",
        "threads",
        "--repeat",
        "1",
        "--warmup",
        "0",
        "--json",
        "-",
    )
    assert [r["backend"] for r in json.loads(proc.stdout)["results"]] == ["sequential", "threads"]


def test_original_signature_file_returns_its_results_from_processes(tmp_path):
    path = tmp_path / "do_something.py"
    path.write_text(ORIGINAL)
    proc = run_cli(
        "compare",
        "--workload",
        f"{path}:do_something",
        "--size",
        "5000",
        *QUICK,
        "--start-method",
        "spawn",
        "--json",
        "-",
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["ok"] and len({r["checksum"] for r in doc["results"]}) == 1
    assert doc["results"][0]["checksum"] is not None


BROKEN = {
    "raises": ("def f(size):\n    raise ValueError('no good')\n", "raised ValueError: no good"),
    "random": ("import os\ndef f(size):\n    return os.urandom(8).hex()\n", "returned different results"),
    "three args": ("def f(a, b, c):\n    pass\n", "cannot be called as fn(size)"),
    "kills itself": (
        "import os\ndef f(size):\n    os._exit(7)\n",
        "killed its process during preflight (exit code 7)",
    ),
    "not JSON": ("def f(size):\n    return {'x': object()}\n", "cannot travel as JSON"),
    "exits": ("import sys\ndef f(size):\n    sys.exit(3)\n", "raised SystemExit: 3"),
}


@pytest.mark.parametrize("case", BROKEN)
def test_a_broken_workload_is_one_line_before_any_pool_starts(tmp_path, case):
    source, needle = BROKEN[case]
    path = tmp_path / "broken.py"
    path.write_text(source)
    proc = run_cli("compare", "--workload", f"{path}:f", "--size", "1", *QUICK, "--json", "-")
    assert_one_line_error(proc, 2, needle)
    assert proc.stdout == ""  # no document: nothing was measured


@pytest.mark.parametrize(
    "args, needles",
    [
        (["--workload", "squeres"], ["unknown workload 'squeres'", "did you mean 'squares'"]),
        (["--workload", "no_such_module_xyz:f"], ["cannot import module 'no_such_module_xyz'"]),
        (["--workload", "workloads.builtin:missing"], ["has no function 'missing'"]),
        (["--workload", "/nonexistent/dir/mine.py:f"], ["does not exist"]),
        (["--backends", "sequential,thread"], ["no such backend: 'thread'", "did you mean 'threads'"]),
        (["--size", "-1"], ["--size must be between"]),
        (["--tasks", "0"], ["--tasks must be between"]),
        (["--concurrency", "0"], ["--concurrency must be between"]),
        (["--repeat", "0"], ["--repeat must be between"]),
        (["--warmup", "-1"], ["--warmup must be between"]),
        (["--tasks", "many"], ["invalid int value: 'many'"]),
        (["--timeout", "0"], ["must be positive"]),
        (["--startup-timeout", "-1"], ["must be positive"]),
        (["--start-method", "vfork"], ["invalid choice: 'vfork'"]),
        (["--json", "/nonexistent/dir/out.json"], ["cannot write --json file"]),
        (["--workers", "prefork=0"], ["--workers takes pool=count"]),
        (["--backends", "threads", "--workers", "prefork=2"], ["no celery-prefork backend is selected"]),
        (["--bogus"], ["unrecognized arguments: --bogus"]),
        (
            ["--broker", "redis://127.0.0.1:1/0", "--workers", "prefork=2"],
            ["--workers sizes the embedded stack"],
        ),
    ],
)
def test_bad_input_is_one_line_exit_2(args, needles):
    proc = run_cli("compare", *args, timeout=30)
    assert_one_line_error(proc, 2, *needles)
    assert proc.stdout == ""


def test_unknown_command_is_one_line_exit_2():
    assert_one_line_error(run_cli("frobnicate"), 2, "invalid choice")


def test_json_path_that_is_a_directory_is_refused(tmp_path):
    assert_one_line_error(run_cli("compare", "--json", str(tmp_path)), 2, "cannot write --json file")


def test_json_file_gets_the_usual_permissions(tmp_path):
    out = tmp_path / "out.json"
    proc = run_cli("compare", "--workload", "sleep", "--size", "1", *QUICK, "--json", str(out))
    assert proc.returncode == 0
    assert out.stat().st_mode & 0o777 == 0o666 & ~_umask()


def _umask() -> int:
    import os

    current = os.umask(0o022)
    os.umask(current)
    return current


def test_a_batch_too_short_for_any_speedup_stops_after_one_round_and_says_why(tmp_path):
    """--repeat auto does not spend --max-time on rounds that can never answer."""
    out = tmp_path / "out.json"
    proc = run_cli(
        "compare", "--workload", "squares", "--size", "10", "--tasks", "4", "--backends", "threads",
        "--max-time", "30", "--json", str(out),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    doc = load_json(out)
    base = doc["results"][0]
    assert base["too_short"] and base["wall_s"]["n"] == 1
    assert "too-short" in {w["code"] for w in base["warnings"]}
    assert "1 auto round" in proc.stdout and "1 auto rounds" not in proc.stdout
