"""poolbench: threads, processes, or which Celery pool? Measured for your function.

    import poolbench
    run = poolbench.compare("sleep", tasks=4, concurrency=2, backends=["threads", "processes"])
    run                      # <Run sleep: threads 1.98x [1.96-2.00] -> threads>
    run.interval("threads")  # the table's speedup: geometric mean, 95% interval
    run.save("run.json"); poolbench.Run.load("run.json")

The implementation lives in the ``producer`` package, kept for compatibility
(``from producer import compare`` works as before). A ``producer.py``, ``worker.py`` or
``workloads.py`` in the user's folder does not shadow poolbench's own: they are imported
from beside this package first.
"""

from __future__ import annotations

import importlib
import os
import sys

_HOME = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_OWN = ("producer", "worker", "workloads")


def _own_packages() -> None:
    """Import poolbench's packages from beside this one, whatever the script's folder holds."""
    sys.path.insert(0, _HOME)
    try:
        for name in _OWN:
            module = importlib.import_module(name)
            where = os.path.abspath(getattr(module, "__file__", None) or "")
            if not where.startswith(os.path.join(_HOME, name) + os.sep):
                raise ImportError(
                    f"'{name}' was already imported from {where}, which shadows poolbench's own: "
                    f"rename that file, or import poolbench before it"
                )
    finally:
        sys.path.remove(_HOME)


_own_packages()

from producer import __version__  # noqa: E402
from producer.api import Interval, Run, compare  # noqa: E402
from producer.errors import PoolbenchError, UsageError  # noqa: E402


def load(path: str) -> Run:
    """A saved run (``Run.save`` or ``poolbench compare --json``), checked."""
    return Run.load(path)


__all__ = ["Interval", "PoolbenchError", "Run", "UsageError", "__version__", "compare", "load"]
