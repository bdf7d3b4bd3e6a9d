"""Running poolbench as a user would: ``python -m producer`` in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CI = os.environ.get("CI", "").lower() == "true"
ORIGINAL = "def do_something(size, out_list):\n    for i in range(size):\n        out_list.append(i ** 2)\n"
"""The original script's workload, as a user's file would hold it."""


def unavailable(reason: str) -> None:
    """Skip a test whose service (Redis, Docker) is missing; under CI=true, fail it instead."""
    if CI:
        pytest.fail(f"CI=true and {reason}: this test must run in CI")
    pytest.skip(reason)


def run_cli(
    *args: str, env: dict | None = None, timeout: float = 120, cwd=ROOT
) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    full_env.update(env or {})
    full_env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "producer", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
        cwd=cwd,
    )


def assert_one_line_error(proc: subprocess.CompletedProcess, code: int, *needles: str) -> None:
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("poolbench: error: "), lines
    assert "Traceback" not in proc.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


def load_json(path) -> dict:
    return json.loads(Path(path).read_text())


def after_preflight(body: str, name: str = "f") -> str:
    """Source of a workload that passes its preflight (two calls), then runs ``body`` on every
    later call: how a batch meets a task that hangs or kills its process."""
    return f"""import os, time

def {name}(size):
    calls = os.path.join(os.path.dirname(os.path.abspath(__file__)), "calls")
    with open(calls, "a") as f:
        f.write("x")
    if os.path.getsize(calls) > 2:
        {body}
    return size
"""


HANGS_AFTER_PREFLIGHT = after_preflight("while True: time.sleep(0.01)", "hangs")
"""A workload that passes its preflight, then hangs in every batch (write it as hangs.py)."""


def wait_until(check: Callable[[], object], seconds: float = 20.0, step: float = 0.05) -> bool:
    """Whether ``check()`` came true within ``seconds``: a wait on a condition, never a fixed sleep."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(step)
    return bool(check())
