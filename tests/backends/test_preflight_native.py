"""The preflight names the native thread pools the *workload* loads, not those its parent had
loaded before forking it (a pytest process or a notebook that imported NumPy). A pool the
parent had loaded already cannot be told apart from the workload's, so it is not named."""

from __future__ import annotations

import subprocess
import sys

import pytest

from producer.measure import preflight
from tests.helpers import ROOT

BLAS = "import numpy\n\ndef mat(size):\n    a = numpy.ones((size, size))\n    return float((a @ a).sum())\n"


def _pools(spec: str, size: int) -> list[str]:
    checked = preflight.run(spec, size, call_s=0.1, timeout=60, concurrency=2, memory_limit_mib=None)
    return [t["api"] for t in checked.as_dict()["native_threads"]]


def test_pools_loaded_by_the_parent_are_not_the_workloads():
    pytest.importorskip("numpy")  # loads BLAS here, in the parent the preflight forks from
    assert _pools("squares", 1000) == []


def test_pools_the_workload_loads_are_named(tmp_path):
    """From a fresh process that has loaded no BLAS (this one may have, from another test)."""
    pytest.importorskip("numpy")
    (tmp_path / "blas.py").write_text(BLAS)
    code = (
        "from producer.measure import preflight\n"
        f"r = preflight.run({str(tmp_path / 'blas.py') + ':mat'!r}, 100, call_s=0.1, timeout=60,"
        " concurrency=2, memory_limit_mib=None)\n"
        "print([t['api'] for t in r.as_dict()['native_threads']])\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert "openblas" in proc.stdout
