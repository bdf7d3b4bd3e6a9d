"""What a result was measured on: recorded with every run, printed with every table."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import socket
import sys
import sysconfig


def gil_state() -> dict:
    """Whether this interpreter can run Python threads in parallel.

    ``sys._is_gil_enabled`` exists from 3.13; before that a CPython always has a GIL.
    A free-threaded build may still run with the GIL re-enabled (PYTHON_GIL=1, or an
    extension that asked for it), which is why both facts are kept.
    """
    free_threaded = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
    check = getattr(sys, "_is_gil_enabled", None)
    enabled = check() if check is not None else platform.python_implementation() == "CPython"
    return {"gil_enabled": enabled, "free_threaded_build": free_threaded}


def _cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def describe() -> dict:
    affinity = getattr(os, "sched_getaffinity", None)
    return {
        "hostname": socket.gethostname(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(affinity(0)) if affinity else os.cpu_count(),
        "cpu_model": _cpu_model(),
        "platform": platform.platform(),
        "python_version": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "python_executable": sys.executable,
        **gil_state(),
        "libraries": {name: _version(name) for name in ("celery", "kombu", "redis", "billiard")},
    }


def usable_cpus(machine: dict) -> int:
    return machine.get("cpus_usable") or machine.get("cpu_count") or 1
