"""Pictures, HTML, Markdown and CSV from real runs, and `report` and `diff` of saved runs.

The runs are real (local backends, small sizes); what is checked is the files' shape and
their agreement with the document, never a timing.
"""

from __future__ import annotations

import csv
import json
import os
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from producer.report import lanes, plot
from tests.helpers import ROOT, assert_one_line_error, load_json, run_cli, unavailable

RUN = ["--tasks", "4", "--concurrency", "2", "--repeat", "2", "--warmup", "0"]
# squares at 1,500,000: about 80 ms a call on a laptop core, so the baseline's batch of 4 is
# well past the 0.1 s below which a row is "too short" (no speedup), on an idle machine too;
# at 400,000 it crossed that line only when the machine was busy
RUN += ["--backends", "sequential,threads,processes"]
NO_MATPLOTLIB = "poolbench: error: --plot needs matplotlib: pip install 'poolbench[plot]'"


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """One real run written in every format, and a second run of the same workload."""
    if not plot.available():
        unavailable("matplotlib is not installed (pip install -e '.[test]')")
    folder = tmp_path_factory.mktemp("runs")
    files = {name: folder / f"a.{name}" for name in ("json", "png", "html", "md", "csv")}
    flags = ["--json", files["json"], "--plot", files["png"], "--html", files["html"]]
    flags += ["--markdown", files["md"], "--csv", files["csv"]]
    first = run_cli("compare", "--workload", "squares", "--size", "1500000", *RUN, *map(str, flags))
    assert first.returncode == 0, first.stderr
    second = run_cli(
        "compare", "--workload", "squares", "--size", "1500000", *RUN, "--json", str(folder / "b.json")
    )
    assert second.returncode == 0, second.stderr
    other = run_cli(
        "compare", "--workload", "sleep", "--size", "1", *RUN, "--json", str(folder / "other.json")
    )
    assert other.returncode == 0, other.stderr
    return {"folder": folder, "stdout": first.stdout, "doc": load_json(files["json"]), **files}


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", "not a PNG"
    return struct.unpack(">II", data[16:24])


def svg_ids(data: bytes) -> list[str]:
    root = ET.fromstring(data)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    return [el.get("id") for el in root.iter() if el.get("id")]


def expected_lanes(doc) -> int:
    return sum(len(t.lanes) for t in lanes.timelines(doc))


def test_compare_writes_every_format_and_says_so(saved):
    for name in ("png", "html", "md", "csv"):
        assert f"written to {saved[name]}" in saved["stdout"]
        assert saved[name].stat().st_size > 0
    width, height = png_size(saved["png"].read_bytes())
    lines = lanes.timelines(saved["doc"])
    assert [t.backend for t in lines] == ["sequential", "threads", "processes"]
    assert lines[0].lanes and all(1 <= len(t.lanes) <= 2 for t in lines)  # concurrency 2
    assert width == 1100 and height >= 100 * plot.timeline_height(lines)


def test_svg_has_one_lane_per_thread_or_process_and_a_bar_per_backend(saved, tmp_path):
    out = tmp_path / "a.svg"
    proc = run_cli("report", str(saved["json"]), "--plot", str(out))
    assert proc.returncode == 0, proc.stderr
    ids = svg_ids(out.read_bytes())
    lane_ids = [i for i in ids if i.startswith("lane-")]
    assert len(lane_ids) == expected_lanes(saved["doc"]) >= 3
    assert {i.rsplit("-", 1)[0] for i in lane_ids} == {"lane-sequential", "lane-threads", "lane-processes"}
    assert sorted(i for i in ids if i.startswith("speedup-")) == [
        "speedup-processes",
        "speedup-sequential",
        "speedup-threads",
    ]


def test_pictures_are_deterministic(saved):
    doc = saved["doc"]
    for fmt in plot.FORMATS:
        assert plot.render(doc, image_format=fmt) == plot.render(doc, image_format=fmt)
    png = plot.render(doc, image_format="png", chart="timeline")
    assert png_size(png)[0] == 1100
    assert len(svg_ids(plot.render(doc, image_format="svg", chart="speedup"))) > 0


def test_csv_and_markdown_carry_the_documents_numbers(saved):
    doc = saved["doc"]
    rows = list(csv.DictReader(saved["csv"].read_text().splitlines()))
    assert [r["backend"] for r in rows] == ["sequential", "threads", "processes"]
    for row, result in zip(rows, doc["results"], strict=True):
        assert float(row["wall_median_s"]) == result["wall_s"]["median"]
        assert float(row["speedup_median"]) == result["speedup"]["median"]
        assert row["workload"] == "squares" and row["size"] == "1500000" and row["tasks"] == "4"
    md = saved["md"].read_text()
    table = [line for line in md.splitlines() if line.startswith("| ")]
    assert len(table) == 1 + len(doc["results"]) and "speedup [95%]" in table[0]
    assert "concurrency 2" in md


def test_report_re_renders_the_saved_run_as_compare_printed_it(saved, tmp_path):
    proc = run_cli("report", str(saved["json"]))
    assert proc.returncode == 0 and proc.stderr == ""
    printed = [line for line in saved["stdout"].splitlines() if "written to" not in line]
    assert proc.stdout.splitlines() == printed
    files = [tmp_path / n for n in ("r.html", "r.md", "r.csv")]
    proc = run_cli("report", str(saved["json"]), "--html", str(files[0]), "--markdown", str(files[1]),
                   "--csv", str(files[2]), "--wide")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert files[1].read_text() == saved["md"].read_text()
    assert files[2].read_text() == saved["csv"].read_text()
    assert "min-max" in proc.stdout  # --wide


def test_diff_compares_two_saved_runs_backend_by_backend(saved):
    proc = run_cli("diff", str(saved["json"]), str(saved["folder"] / "b.json"))
    assert proc.returncode == 0 and proc.stderr == ""
    rows: dict[str, str] = {}
    for line in proc.stdout.splitlines():  # the first table: times; the second: speedups
        if line.split():
            rows.setdefault(line.split()[0], line)
    for backend in ("sequential", "threads", "processes"):
        assert backend in rows and " ±" in rows[backend] and "untested" in rows[backend]  # 2 rounds each
    assert "Welch" in proc.stdout and max(len(line) for line in proc.stdout.splitlines()) <= 80
    same = run_cli("diff", str(saved["json"]), str(saved["json"]))
    assert same.stdout.splitlines()[-1].startswith("no change")


def test_diff_refuses_runs_of_different_workloads_unless_forced(saved):
    a, other = str(saved["json"]), str(saved["folder"] / "other.json")
    assert_one_line_error(
        run_cli("diff", a, other), 2, "different workloads", "name 'squares' vs 'sleep'", "--force"
    )
    forced = run_cli("diff", a, other, "--force")
    assert forced.returncode == 0 and "compared with --force" in forced.stdout


def write(folder, name, content) -> str:
    path = folder / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return str(path)


def test_bad_saved_runs_get_one_line_and_exit_2(saved, tmp_path):
    doc = saved["doc"]
    good = str(saved["json"])
    cases = {
        str(tmp_path / "missing.json"): "no such file",
        write(tmp_path, "broken.json", '{"schema_version": 2,'): "not JSON",
        write(tmp_path, "list.json", [1, 2]): "a JSON list, not an object",
        write(tmp_path, "old.json", {**doc, "schema_version": 1}): "schema_version 1",
        write(tmp_path, "empty.json", {**doc, "results": []}): "no results",
        write(tmp_path, "cut.json", {**doc, "results": [{"backend": "threads"}]}): "results[0].family",
        write(
            tmp_path, "nowork.json", {k: v for k, v in doc.items() if k != "workload"}
        ): "'workload' is missing",
    }
    for path, needle in cases.items():
        assert_one_line_error(run_cli("report", path), 2, needle)
        assert_one_line_error(run_cli("diff", good, path), 2, needle)
        assert_one_line_error(run_cli("diff", path, good), 2, needle)


@pytest.mark.parametrize(
    "flags, needle",
    [
        (["--html", "/nonexistent/dir/r.html"], "cannot write --html file"),
        (["--markdown", "/nonexistent/r.md"], "cannot write --markdown file"),
        (["--csv", "/nonexistent/r.csv"], "cannot write --csv file"),
        (["--plot", "/nonexistent/r.png"], "cannot write --plot file"),
        (["--plot", "r.jpg"], "--plot draws .png or .svg files"),
        (["--csv", "-"], "--csv writes a file"),
    ],
)
def test_unwritable_or_wrong_paths_fail_before_any_work(saved, flags, needle):
    for command in (["compare", "--workload", "squares", *RUN], ["report", str(saved["json"])]):
        proc = run_cli(*command, *flags, timeout=30)
        assert_one_line_error(proc, 2, needle)
        assert proc.stdout == ""  # nothing ran, nothing printed


def test_a_folder_is_not_a_file(saved, tmp_path):
    assert_one_line_error(
        run_cli("report", str(saved["json"]), "--html", str(tmp_path)), 2, "cannot write --html"
    )


def without_matplotlib(tmp_path, *args) -> subprocess.CompletedProcess:
    """Run the CLI with ``import matplotlib`` failing, as in an install without the plot extra."""
    shim = tmp_path / "shim"
    shim.mkdir(parents=True)
    (shim / "sitecustomize.py").write_text(
        "import sys\n\n\nclass _Hide:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'matplotlib':\n"
        "            raise ModuleNotFoundError(\"No module named 'matplotlib'\")\n\n\n"
        "sys.meta_path.insert(0, _Hide())\n"
    )
    env = {**os.environ, "PYTHONPATH": f"{shim}{os.pathsep}{ROOT}"}
    env.pop("REDIS_URL", None)
    return subprocess.run([sys.executable, "-m", "producer", *args], capture_output=True, text=True,
                          timeout=120, env=env, cwd=ROOT)  # fmt: skip


def test_without_matplotlib_plot_is_one_line_and_html_says_so(saved, tmp_path):
    for command in (["compare", *RUN], ["report", str(saved["json"])]):
        proc = without_matplotlib(tmp_path / command[0], *command, "--plot", str(tmp_path / "x.png"))
        assert proc.returncode == 2 and proc.stderr.strip() == NO_MATPLOTLIB and proc.stdout == ""
    page = tmp_path / "page.html"
    proc = without_matplotlib(tmp_path / "html", "report", str(saved["json"]), "--html", str(page))
    assert proc.returncode == 0, proc.stderr
    html = page.read_text()
    assert "charts need matplotlib" in html and "<svg" not in html and "<table>" in html


def test_a_speedup_a_rounding_outside_its_rounds_range_still_draws(saved, tmp_path):
    """One round: the geometric mean exp(log(v)) can sit 1e-16 outside [v, v], and matplotlib
    refused the negative error bar (``report --html`` failed with exit 2 in bench/scale.py)."""
    doc = json.loads(saved["json"].read_text())
    changed = 0
    for result in doc["results"]:
        paired = (result.get("speedup") or {}).get("paired")
        if paired and result["speedup"].get("value"):
            result["speedup"]["value"] = paired["min"] * (1 - 1e-15)
            changed += 1
    assert changed
    path = tmp_path / "edge.json"
    path.write_text(json.dumps(doc))
    done = run_cli("report", str(path), "--html", str(tmp_path / "edge.html"))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "edge.html").stat().st_size > 0
