"""A user's folder cannot break poolbench's own processes (issue 7, item 10).

The folder holds the user's ``mod.py`` and, to make things hard, their own
``worker.py``, ``workloads.py`` and ``producer.py``: none may shadow poolbench's
packages, in the producer or in the embedded workers it starts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from producer.services.redis import find_redis_server
from tests.helpers import ROOT, unavailable

SHADOWS = {
    "mod.py": "def fn(size):\n    return [i * 7 for i in range(size)]\n",
    "worker.py": "raise SystemExit('the user worker.py was imported')\n",
    "workloads.py": "raise SystemExit('the user workloads.py was imported')\n",
}
PRODUCER_SHADOW = "raise SystemExit('the user producer.py was imported')\n"
"""Only ``poolbench`` can survive this one: ``python -m producer`` asks Python itself for it."""
POOLBENCH = os.path.join(os.path.dirname(sys.executable), "poolbench")


@pytest.fixture
def user_folder(tmp_path):
    for name, source in SHADOWS.items():
        (tmp_path / name).write_text(source)
    return tmp_path


def _run(argv, cwd, timeout=180):
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "PYTHONPATH")}
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)


def _entry_points():
    if not os.path.exists(POOLBENCH):
        unavailable(f"no poolbench console script next to {sys.executable} (pip install -e .)")
    return {"poolbench": [POOLBENCH], "python -m producer": [sys.executable, "-m", "producer"]}


@pytest.mark.parametrize("entry", ["poolbench", "python -m producer"])
def test_module_spec_resolves_alike_and_embedded_workers_ignore_the_users_files(user_folder, entry):
    if find_redis_server() is None:
        unavailable("no redis-server for the embedded stack")
    argv = _entry_points()[entry]
    if entry == "poolbench":
        (user_folder / "producer.py").write_text(PRODUCER_SHADOW)
    args = ["compare", "--workload", "mod:fn", "--size", "2000", "--tasks", "3", "--concurrency", "2"]
    args += ["--repeat", "1", "--warmup", "0", "--backends", "threads,celery-prefork", "--json", "-"]
    proc = _run([*argv, *args], user_folder)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["ok"] and doc["workload"]["spec"] == "mod:fn"
    assert [r["backend"] for r in doc["results"]] == ["sequential", "threads", "celery-prefork"]
    assert len({r["checksum"] for r in doc["results"]}) == 1


def test_help_names_the_command_it_was_called_by(user_folder):
    for entry, argv in _entry_points().items():
        proc = _run([*argv, "--help"], user_folder, timeout=60)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.startswith(f"usage: {entry} "), proc.stdout.splitlines()[0]


def test_the_worker_started_from_the_users_folder_is_poolbenchs(user_folder):
    proc = _run([sys.executable, "-m", "worker", "--help"], user_folder, timeout=60)
    # `python -m` puts the folder first: the user's worker.py wins there, which is why
    # poolbench starts its workers with -P and its own folder first on PYTHONPATH.
    assert "the user worker.py was imported" in proc.stderr
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    safe = subprocess.run(
        [sys.executable, "-P", "-m", "worker", "--help"],
        cwd=user_folder,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert safe.returncode == 0 and "--pool" in safe.stdout, safe.stderr
