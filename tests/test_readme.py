"""The README stays true: its commands, options and workloads are the real ones."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import workloads
from producer import backends
from tests.helpers import ROOT, run_cli

README = (ROOT / "README.md").read_text()


def first_block_commands() -> list[str]:
    block = re.search(r"```sh\n(.*?)```", README, re.S).group(1)
    return [line for line in block.splitlines() if line.strip() and not line.startswith("#")]


def test_first_block_holds_two_commands_run_and_test():
    run, test = first_block_commands()
    assert "poolbench compare" in run and "venv" in run
    assert "-m pytest" in test and "venv" in test


def test_ci_runs_exactly_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert first_block_commands()[1] in ci


def test_every_documented_option_exists():
    help_text = run_cli("compare", "--help").stdout
    for option in re.findall(r"^\| `(--[a-z-]+)", README, re.M):  # in every options table
        assert option in help_text, option


def test_workload_table_matches_the_registry():
    documented = re.findall(r"^\| `([a-z0-9]+)` \| [^|]+ \| [0-9,]+ \|", README, re.M)
    assert set(documented) == set(workloads.names())
    for name, (_, meta) in workloads.BUILTINS.items():
        assert re.search(rf"^\| `{name}` \| [^|]+ \| {meta.size:,} \|", README, re.M), name


def test_every_backend_is_named_in_the_readme():
    """Test doubles may be named in docs/ARCHITECTURE.md instead (a whole family's, for one)."""
    architecture = (ROOT / "docs" / "ARCHITECTURE.md").read_text()
    for name, entry in backends.REGISTRY.items():
        assert name.removeprefix("celery-") in README or (entry.for_tests and f"`{name}`" in architecture), (
            name
        )


def test_the_python_example_runs_and_prints_what_it_says(tmp_path):
    example = re.search(r"```python\n(.*?)```", README, re.S).group(1)
    script = tmp_path / "example.py"
    script.write_text(example)
    proc = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.returncode == 0, proc.stderr
    speedup, kind = proc.stdout.split()[:2]
    assert float(speedup) > 0 and kind in ("cpu-bound", "gil-releasing", "io-bound", "mixed", "undecided")
