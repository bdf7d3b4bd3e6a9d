"""Which import turned the GIL back on, in a free-threaded build.

A free-threaded CPython (``Py_GIL_DISABLED``) turns its GIL back on, for the rest of the
process, when it loads a C extension that has not declared it can run without one, and
says so once in a ``RuntimeWarning``: "The global interpreter lock (GIL) has been enabled
to load module 'X', ...". :func:`watch` catches that warning wherever the import happens
(a workload's module, a worker's library) and keeps the module's name, so the report can
name it; the warning itself is not printed, the report says it instead.

Dependency-free, like the rest of this package: the producer's children, the Celery
workers and the probe of another interpreter all use it.
"""

from __future__ import annotations

import re
import sys
import warnings

_MESSAGE = r"The global interpreter lock \(GIL\) has been enabled to load module"
_NAME = re.compile(r"enabled to load module '([^']+)'")
_culprits: list[str] = []
_watching = False


def watch() -> None:
    """Catch the GIL's warning from now on, in this process; safe to call twice."""
    global _watching
    if _watching or not free_threaded_build():
        return
    _watching = True
    warnings.filterwarnings("always", message=_MESSAGE, category=RuntimeWarning)
    shown = warnings.showwarning

    def showwarning(message, category, filename, lineno, file=None, line=None):
        found = _NAME.search(str(message)) if issubclass(category, RuntimeWarning) else None
        if found is None:
            return shown(message, category, filename, lineno, file, line)
        if found.group(1) not in _culprits:
            _culprits.append(found.group(1))
        return None

    warnings.showwarning = showwarning


def turned_on_by() -> list[str]:
    """The modules whose import turned the GIL back on, in order (the first is the one)."""
    return list(_culprits)


def free_threaded_build() -> bool:
    import sysconfig

    return bool(sysconfig.get_config_var("Py_GIL_DISABLED"))


def enabled() -> bool:
    """Whether the GIL is on now: always before 3.13 (for CPython)."""
    check = getattr(sys, "_is_gil_enabled", None)
    if check is not None:
        return bool(check())
    import platform

    return platform.python_implementation() == "CPython"
