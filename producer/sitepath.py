"""Keep a user's folder from shadowing poolbench's own packages.

``python -m producer`` puts the current folder first on ``sys.path``, so a user's
``worker.py``, ``workloads.py`` or ``producer.py`` there would be imported instead of
poolbench's. The console script ``poolbench`` puts its own bin folder there and not
the current folder at all, so ``--workload mod:fn`` would not find ``mod.py``. Both
end the same way: the current folder last, after poolbench's packages. Imports
nothing of poolbench's, so it can run before anything else is imported.
"""

from __future__ import annotations

import os
import sys


def user_folder_last() -> None:
    here = os.getcwd()
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here] + [here]
