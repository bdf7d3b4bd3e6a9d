"""What a result was measured on: recorded with every run, printed with every table."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import socket
import sys

from workloads import interpreter


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
        "python_executable": sys.executable,
        **interpreter(),
        "libraries": {name: _version(name) for name in ("celery", "kombu", "redis", "billiard")},
    }


def usable_cpus(machine: dict) -> int:
    return machine.get("cpus_usable") or machine.get("cpu_count") or 1
