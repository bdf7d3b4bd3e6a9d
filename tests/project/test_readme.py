"""The README stays true: its commands, workloads, sample and pictures are the real ones.

The reference moved to docs/ (one file per topic); its tables are checked here too.
"""

from __future__ import annotations

import json
import os
import re
import struct
import subprocess
import sys

import workloads
from producer import backends
from producer.report import text
from tests.helpers import ROOT, run_cli

README = (ROOT / "README.md").read_text()
DOCS = ROOT / "docs"
SAMPLE_RUN = DOCS / "sample-run.json"


def first_block_commands() -> list[str]:
    block = re.search(r"```sh\n(.*?)```", README, re.S).group(1)
    return [line for line in block.splitlines() if line.strip() and not line.startswith("#")]


def prose(markdown: str) -> list[str]:
    """Paragraphs outside code blocks (a table row is a paragraph of its own)."""
    outside = re.sub(r"```.*?```", "", markdown, flags=re.S)
    paragraphs = []
    for chunk in re.split(r"\n\s*\n", outside):
        rows = [line for line in chunk.splitlines() if line.startswith("|")]
        paragraphs += rows or [chunk]
    return paragraphs


def test_first_block_holds_two_commands_run_and_test():
    run, test = first_block_commands()
    assert "poolbench compare" in run and "venv" in run
    assert "-m pytest" in test and "venv" in test


def test_ci_runs_exactly_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert first_block_commands()[1] in ci


def test_the_readme_is_a_guide_of_about_300_lines_with_a_picture():
    assert len(README.splitlines()) <= 300
    pictures = re.findall(r"!\[[^\]]+\]\((docs/[^)]+\.png)\)", README)
    assert pictures
    for path in pictures:
        data = (ROOT / path).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = struct.unpack(">II", data[16:24])
        assert width > 400 and height > 200
    for heading in ("## FAQ", "## How to read the verdict", "## Your own function", "## More"):
        assert heading in README


def test_every_linked_file_exists():
    for target in re.findall(r"\]\(((?:docs|scripts)/[^)#]+)\)", README):
        assert (ROOT / target).exists(), target


def test_the_sample_is_the_default_report_of_the_saved_run():
    """The README's sample is that run's report, rendered now, not pasted."""
    doc = json.loads(SAMPLE_RUN.read_text())
    block = re.search(r"<!-- sample:start -->.*?```text\n(.*?)```\n<!-- sample:end -->", README, re.S).group(
        1
    )
    assert block == text.render(doc, width=80)
    assert block == (DOCS / "sample-output.txt").read_text()
    assert len(block.splitlines()) <= 24 and max(len(line) for line in block.splitlines()) <= 80
    command = first_block_commands()[0].split("poolbench ", 1)[1]
    assert f"`poolbench {command}`" in README  # the sample names the command that made it
    others = doc["load"]["others_during_cores"]["median"]
    assert f"about {others:.1f} of its CPUs busy" in README  # and the load beside it


NUMBER = re.compile(r"(?<![\w.-])\d+(?:\.\d+)?(?:x| ms| s|%)(?![\w])")
"""A measured-looking figure: 1.72x, 389 ms, 0.83 s, 60%."""


def test_every_measured_number_comes_from_the_sample_run_or_names_its_source():
    """A figure in the README's prose is in the sample run's report, or its paragraph links the
    document that holds it."""
    sample = (DOCS / "sample-output.txt").read_text()
    for paragraph in prose(README):
        sources = [ROOT / link for link in re.findall(r"\]\((docs/[^)#]+\.md)\)", paragraph)]
        held = sample + "".join(path.read_text() for path in sources)
        for figure in NUMBER.findall(paragraph):
            said = re.search(rf"(?<![\w.]){re.escape(figure)}(?!\w)", held)  # 1x is not 1.21x's tail
            assert said, (figure, paragraph[:120])


def test_every_documented_option_exists():
    help_text = run_cli("compare", "--help").stdout
    options = (DOCS / "OPTIONS.md").read_text()
    documented = re.findall(r"^\| `(--[a-z-]+)", options, re.M)
    assert len(documented) > 20
    for option in documented:
        assert option in help_text, option


def test_workload_table_matches_the_registry_in_the_verdicts_words():
    for source in (README, (DOCS / "WORKLOADS.md").read_text()):
        documented = re.findall(r"^\| `([a-z0-9]+)` \| [^|]+ \| [0-9,]+ \|", source, re.M)
        assert set(documented) == set(workloads.names())
        for name, (_, meta) in workloads.BUILTINS.items():
            assert re.search(rf"^\| `{name}` \| {meta.kind}[^|]* \| {meta.size:,} \|", source, re.M), name


def test_every_backend_is_named_in_the_readme():
    """Test doubles may be named in docs/ARCHITECTURE.md instead (a whole family's, for one)."""
    architecture = (ROOT / "docs" / "ARCHITECTURE.md").read_text()
    for name, entry in backends.REGISTRY.items():
        assert name.removeprefix("celery-") in README or (entry.for_tests and f"`{name}`" in architecture), (
            name
        )


def test_the_python_example_runs_and_prints_what_it_says(tmp_path):
    example = re.search(r"```python\n(.*?)```", README, re.S).group(1)
    assert 'if __name__ == "__main__":' in example
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
    first, shown = proc.stdout.splitlines()[:2]
    speedup, kind = first.split()
    assert float(speedup) > 0 and kind in ("cpu-bound", "gil-releasing", "io-bound", "mixed", "undecided")
    assert shown.startswith("<Run example.py:crunch: ") and shown.endswith(">")
