"""Keep a user's folder from shadowing poolbench's own packages.

``python -m producer`` puts the current folder first on ``sys.path``, so a user's
``worker.py``, ``workloads.py`` or ``producer.py`` there would be imported instead of
poolbench's. The console script ``poolbench`` puts its own bin folder there and not
the current folder at all, so ``--workload mod:fn`` would not find ``mod.py``. Both
end the same way: poolbench's own top-level packages are imported first, then the
current folder goes last on ``sys.path``. The first import matters because an editable
install finds its packages through a finder that Python asks only after every
``sys.path`` entry, the user's folder included.
"""

from __future__ import annotations

import importlib
import os
import sys

OWN_PACKAGES = ("producer", "worker", "workloads")


def user_folder_last() -> None:
    here = os.getcwd()
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    for name in OWN_PACKAGES:  # cheap: their __init__ modules import nothing heavy
        importlib.import_module(name)
    sys.path.append(here)
