"""The HTML report in a real headless browser (Debian's chromium): it loads from file://
with no console message and no network, its DOM holds the table and both charts, and a
screenshot shows them. Under CI=true a missing chromium fails these tests.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from producer.report import plot
from tests.helpers import run_cli, unavailable

BROWSER_TIMEOUT_S = 120
THREADS_ORANGE = (224, 123, 0)
"""The threads backend's colour in the charts (``plot.COLORS``)."""


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        unavailable("no chromium on PATH (apt-get install chromium)")
    return path


def browse(page, profile, *mode: str) -> subprocess.CompletedProcess:
    """Open ``page`` headless, offline (every host name fails to resolve), logging to stderr."""
    args = [
        chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--enable-logging=stderr",
        "--v=0",
        "--window-size=1200,2000",
        *mode,
        page.as_uri(),
    ]
    return subprocess.run(args, capture_output=True, text=True, timeout=BROWSER_TIMEOUT_S)


def console_messages(stderr: str) -> list[str]:
    """What the page wrote to the console (errors included); the report has no script, so none."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    if not plot.available():
        unavailable("matplotlib is not installed (pip install -e '.[test]')")
    folder = tmp_path_factory.mktemp("html")
    html = folder / "report.html"
    # 1,500,000: the baseline batch stays past the 0.1 s "too short" line on an idle machine
    args = ["--workload", "squares", "--size", "1500000", "--tasks", "4", "--concurrency", "2"]
    args += ["--repeat", "2", "--warmup", "0", "--backends", "sequential,threads,processes"]
    proc = run_cli("compare", *args, "--html", str(html))
    assert proc.returncode == 0, proc.stderr
    return html


def test_the_page_asks_for_nothing_from_the_network(page):
    source = page.read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", source, re.I)
    assert "@import" not in source and "url(http" not in source and "<script" not in source


def test_console_messages_are_caught(tmp_path):
    """The check below can fail: a page with a script error is seen."""
    bad = tmp_path / "bad.html"
    bad.write_text("<html><body><script>console.error('boom'); missing_fn();</script></body></html>")
    proc = browse(bad, tmp_path / "profile", "--dump-dom")
    assert any("missing_fn" in line for line in console_messages(proc.stderr)), proc.stderr[-3000:]


def test_the_page_loads_with_the_table_and_both_charts_in_the_dom(page, tmp_path):
    proc = browse(page, tmp_path / "profile", "--dump-dom")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert console_messages(proc.stderr) == []
    dom = proc.stdout
    assert dom.count("<svg") == 2 and "<table>" in dom
    assert 'id="lane-threads-0"' in dom and 'id="speedup-processes"' in dom
    assert "Verdict" in dom and "concurrency" in dom


def test_a_screenshot_shows_the_charts(page, tmp_path):
    from matplotlib.image import imread

    shot = tmp_path / "shot.png"
    proc = browse(page, tmp_path / "profile", f"--screenshot={shot}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert console_messages(proc.stderr) == []
    pixels = (imread(shot)[:, :, :3] * 255).round()
    assert pixels.shape[:2] == (2000, 1200)
    assert pixels.std() > 20, "the screenshot is (nearly) one colour"
    orange = (abs(pixels - THREADS_ORANGE).max(axis=2) <= 8).sum()
    assert orange > 2000, f"the threads bars are missing from the screenshot ({orange} pixels)"
