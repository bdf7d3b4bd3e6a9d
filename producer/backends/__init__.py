"""Execution backends, registered by name and imported only when used.

Like Celery's pool registry, each entry is a ``"module:Class"`` string plus the
parameters it is built with, so an optional dependency (gevent) costs nothing
until its backend is chosen. Prefork, threads, solo and gevent are one Celery
backend with a ``pool`` parameter.
"""

from __future__ import annotations

import difflib
import importlib

from producer.backends.base import Backend
from producer.errors import UsageError
from producer.settings import Settings

BACKENDS: dict[str, tuple[str, dict]] = {
    "sequential": ("producer.backends.sequential:SequentialBackend", {}),
    "threads": ("producer.backends.threads:ThreadsBackend", {}),
    "processes": ("producer.backends.processes:ProcessesBackend", {}),
    "celery-prefork": ("producer.backends.celery_pool:CeleryBackend", {"pool": "prefork"}),
    "celery-threads": ("producer.backends.celery_pool:CeleryBackend", {"pool": "threads"}),
    "celery-solo": ("producer.backends.celery_pool:CeleryBackend", {"pool": "solo"}),
    "celery-gevent": ("producer.backends.celery_pool:CeleryBackend", {"pool": "gevent"}),
}

DESCRIPTIONS = {
    "sequential": "the baseline: every call, one after another, in one thread",
    "threads": "a pool of threads in this process (shares one GIL)",
    "processes": "a multiprocessing pool (one interpreter, one GIL per process)",
    "celery-prefork": "Celery workers, prefork pool (child processes), over Redis",
    "celery-threads": "Celery workers, threads pool, over Redis",
    "celery-solo": "Celery workers, solo pool (one task at a time), over Redis",
    "celery-gevent": "Celery workers, gevent pool (greenlets; extra 'gevent'), over Redis",
}


def check_name(name: str) -> str:
    if name not in BACKENDS:
        hint = difflib.get_close_matches(name, BACKENDS, n=1)
        did_you_mean = f"; did you mean '{hint[0]}'?" if hint else ""
        raise UsageError(f"no such backend: '{name}'{did_you_mean} (see 'python -m producer list')")
    return name


def is_celery(name: str) -> bool:
    return BACKENDS[check_name(name)][1].get("pool") is not None


def pool_of(name: str) -> str | None:
    return BACKENDS[check_name(name)][1].get("pool")


def create(name: str, settings: Settings) -> Backend:
    """Import the backend's module now, and build it."""
    target, params = BACKENDS[check_name(name)]
    module_name, class_name = target.split(":")
    backend = getattr(importlib.import_module(module_name), class_name)(settings, **params)
    backend.name = name
    return backend


__all__ = ["BACKENDS", "DESCRIPTIONS", "Backend", "check_name", "create", "is_celery", "pool_of"]
