"""Workloads: deterministic summaries, the user forms and the (size, out_list) adapter."""

from __future__ import annotations

import json
import pickle

import pytest

import workloads
from workloads import run_task

TINY = {"squares": 2000, "countdown": 2000, "sleep": 1, "fileio": 2, "sha256": 1, "mixed": 2000}


@pytest.mark.parametrize("name", workloads.names())
def test_builtin_summary_is_deterministic_and_json(name):
    first, second = workloads.resolve(name).func(TINY[name]), workloads.resolve(name).func(TINY[name])
    assert first == second
    assert json.loads(json.dumps(first)) == first


def test_every_builtin_has_a_tiny_size_in_these_tests():
    assert set(TINY) == set(workloads.names())


def test_squares_is_the_original_do_something():
    out: list[int] = []
    workloads.builtin.do_something(5, out)
    assert out == [0, 1, 4, 9, 16]
    assert workloads.resolve("squares").func(5)["count"] == 5


def test_sizes_change_the_summary():
    assert workloads.resolve("squares").func(10) != workloads.resolve("squares").func(11)
    assert workloads.resolve("sha256").func(1) != workloads.resolve("sha256").func(2)


def test_run_task_records_where_and_when():
    record = run_task("squares", 100, index=3)
    assert record["index"] == 3
    assert record["started"] <= record["ended"]
    assert record["pid"] > 0 and record["tid"] > 0 and record["cpu_s"] >= 0
    assert record["summary"] == workloads.resolve("squares").func(100)


def test_run_task_records_an_exception(tmp_path):
    path = tmp_path / "boom.py"
    path.write_text("def f(size):\n    raise ValueError(f'bad size {size}')\n")
    record = run_task(f"{path}:f", 7)
    assert record["error"] == {"type": "ValueError", "message": "bad size 7"}
    assert "summary" not in record


def test_module_spec_and_out_list_adapter_match_the_builtin():
    adapted = workloads.resolve("workloads.builtin:do_something").func(1000)
    assert adapted == workloads.resolve("squares").func(1000)


def test_file_spec_is_made_absolute_and_resolves(tmp_path, monkeypatch):
    (tmp_path / "mine.py").write_text("def work(size, out_list):\n    out_list.extend(range(size))\n")
    monkeypatch.chdir(tmp_path)
    workload = workloads.resolve("mine.py:work")
    assert workload.spec == f"{tmp_path / 'mine.py'}:work"
    assert workload.func(3) == workloads.summary.summarize_items([0, 1, 2])


def test_one_argument_function_return_value_is_summarised(tmp_path):
    path = tmp_path / "ret.py"
    path.write_text(
        "def total(size):\n    return sum(range(size))\n\ndef listing(size):\n    return list(range(size))\n"
    )
    assert workloads.resolve(f"{path}:total").func(4) == {"value": 6}
    assert workloads.resolve(f"{path}:listing").func(3)["count"] == 3


def test_specs_pickle_and_functions_are_top_level():
    for name in workloads.names():
        assert pickle.loads(pickle.dumps(workloads.resolve(name).func)) is workloads.resolve(name).func


@pytest.mark.parametrize(
    "spec, message",
    [
        ("squeres", "did you mean 'squares'"),
        ("no_such_module_xyz:f", "cannot import module 'no_such_module_xyz'"),
        ("workloads.builtin:nope", "has no function 'nope'"),
        ("/nonexistent/file.py:f", "does not exist"),
    ],
)
def test_bad_specs_say_what_is_wrong(spec, message):
    with pytest.raises(workloads.WorkloadError, match=message):
        workloads.resolve(spec)


def test_a_file_that_fails_to_import_is_a_workload_error(tmp_path):
    path = tmp_path / "broken.py"
    path.write_text("raise RuntimeError('nope')\n")
    with pytest.raises(workloads.WorkloadError, match="RuntimeError: nope"):
        workloads.resolve(f"{path}:f")


def test_workloads_import_nothing_from_producer_or_worker():
    import ast
    from pathlib import Path

    for path in Path(workloads.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names.append(node.module)
            assert not any(n.split(".")[0] in {"producer", "worker", "celery", "redis"} for n in names), path
