"""Execution backends, registered by name and imported only when used.

Like Celery's pool registry, each entry names a ``"module:Class"`` and the parameters
it is built with, so an optional dependency (gevent) costs nothing until its backend
is chosen. Each entry also declares what the backend is: its execution ``model`` (serial,
threads, processes, interpreters, greenlets), ``via`` (in the producer's machine, or
through a broker), whether that model ``shares_gil`` (one GIL for all its workers), its
family and its pool; nothing outside tests a backend's name to find out.
Prefork, threads, solo and gevent are one Celery backend with a ``pool`` parameter.
"""

from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from producer.backends import family as families
from producer.backends.base import Backend, BackendInfo
from producer.errors import UsageError
from producer.services.environ import Needs

if TYPE_CHECKING:
    from producer.settings import Settings

LOCAL = "local"
CELERY = "celery"
INTERPRETER_POOL = "interpreter-pool"
RUNNING_WORKERS = "running-workers"
IN_PROCESS = "in-process"

# Execution models: how a backend runs the calls of one batch.
SERIAL = "serial"
"""One call after another, in one thread."""
THREADS = "threads"
"""Threads of one process: one interpreter, one GIL (none on a free-threaded build)."""
PROCESSES = "processes"
"""Processes: an interpreter and a GIL each."""
INTERPRETERS = "interpreters"
"""Subinterpreters of one process: a GIL each (PEP 684)."""
GREENLETS = "greenlets"
"""Greenlets of one thread: concurrency while waiting, never two calls computing at once."""
MODELS = (SERIAL, THREADS, PROCESSES, INTERPRETERS, GREENLETS)
SHARED_GIL_MODELS = frozenset({SERIAL, THREADS, GREENLETS})
"""Models whose workers share one GIL (where the interpreter has one)."""

# Where a backend runs the calls.
VIA_LOCAL = "local"
"""In the producer's machine: the producer's own child processes."""
VIA_BROKER = "broker"
"""Through a broker, by workers that may be anywhere."""


@dataclass(frozen=True)
class BackendSpec:
    name: str
    target: str
    """``module:Class``, imported on first use."""
    description: str
    model: str = SERIAL
    """How it runs the calls of a batch: one of :data:`MODELS`."""
    family: str = LOCAL
    params: dict = field(default_factory=dict)
    for_tests: bool = False
    """A test double: listed apart by ``poolbench list``, never a default, never a measurement."""
    requires: str | None = None
    """What the interpreter that runs it must have: ``INTERPRETER_POOL`` (``InterpreterPoolExecutor``),
    ``RUNNING_WORKERS`` (workers started apart, e.g. by compose), or ``IN_PROCESS`` (it runs in the
    producer itself, so only under the producer's Python)."""

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise ValueError(f"backend '{self.name}': unknown model '{self.model}' (one of {MODELS})")

    @property
    def via(self) -> str:
        """``broker`` for a family that reaches its workers through a broker, else ``local``
        (as its family's registry line declares: :data:`producer.backends.family.FAMILIES`)."""
        return families.via(self.family)

    @property
    def shares_gil(self) -> bool:
        """Its workers share one interpreter's GIL (threads, greenlets, one thread)."""
        return self.model in SHARED_GIL_MODELS

    @property
    def pool(self) -> str | None:
        """The worker pool, for a family whose workers have pools."""
        return self.params.get("pool")

    @property
    def needs_broker(self) -> bool:
        return self.via == VIA_BROKER


CELERY_POOL_MODELS = {"prefork": PROCESSES, "threads": THREADS, "solo": SERIAL, "gevent": GREENLETS}
"""How each Celery pool runs its tasks (celery's ``concurrency/`` modules)."""


def _celery(pool: str, description: str, name: str = "", **params) -> BackendSpec:
    target = "producer.backends.celery:CeleryBackend"
    requires = RUNNING_WORKERS if "queue" in params else None
    return BackendSpec(
        name or f"celery-{pool}",
        target,
        description,
        CELERY_POOL_MODELS[pool],
        CELERY,
        {"pool": pool, **params},
        requires=requires,
    )


REGISTRY: dict[str, BackendSpec] = {
    spec.name: spec
    for spec in (
        BackendSpec(
            "sequential",
            "producer.backends.sequential:SequentialBackend",
            "the baseline: every call, one after another, in one thread (of a child process)",
            SERIAL,
        ),
        BackendSpec(
            "threads",
            "producer.backends.threads:ThreadsBackend",
            "a pool of threads in one child process (sharing its one GIL)",
            THREADS,
        ),
        BackendSpec(
            "processes",
            "producer.backends.processes:ProcessesBackend",
            "a pool of child processes (one interpreter, one GIL per process)",
            PROCESSES,
        ),
        _celery("prefork", "Celery workers, prefork pool (child processes), over Redis"),
        _celery("threads", "Celery workers, threads pool, over Redis"),
        _celery("solo", "Celery workers, solo pool (one task at a time), over Redis"),
        _celery("gevent", "Celery workers, gevent pool (greenlets; extra 'gevent'), over Redis"),
        BackendSpec(
            "interpreters",
            "producer.backends.interpreters:InterpretersBackend",
            "a pool of subinterpreters in one child process, one GIL each (3.14, or 3.12/3.13 with "
            "extra 'interpreters')",
            INTERPRETERS,
            requires=INTERPRETER_POOL,
        ),
        _celery(
            "threads",
            "running Celery workers, threads pool, queue 'threads-ft' (compose's free-threaded "
            "worker-threads-ft; --broker)",
            name="celery-threads-ft",
            queue="threads-ft",
        ),
        BackendSpec(
            "scripted",
            "producer.backends.scripted:ScriptedBackend",
            "runs tasks in this process and can be scripted to lose, double, delay or fail them",
            SERIAL,
            for_tests=True,
            requires=IN_PROCESS,
        ),
        BackendSpec(
            "scripted-family",
            "producer.backends.scripted_family:ScriptedFamilyBackend",
            "a whole distributed family as a test double: its 'workers' are threads of this process",
            THREADS,
            family="scripted-family",
            for_tests=True,
            requires=IN_PROCESS,
        ),
    )
}
BASELINE = "sequential"
DEFAULTS = (BASELINE, "threads", "processes", "celery-prefork", "celery-threads")
"""What ``compare`` runs without ``--backends``."""
NEEDS = Needs(
    modules=tuple(dict.fromkeys(m for entry in families.FAMILIES.values() for m in entry.probes)),
    interpreter_pool="producer.backends.subinterpreters:executor_class",
)
"""What each interpreter of a run is asked (``Interpreter.current(NEEDS)``, ``probe(path, NEEDS)``)."""
BROKER_FAMILY = CELERY
"""The family whose workers an embedded stack starts when asked by pool names alone."""


def spec(name: str) -> BackendSpec:
    """The registry entry for ``name``; UsageError with a suggestion if there is none."""
    if name not in REGISTRY:
        hint = difflib.get_close_matches(name, REGISTRY, n=1)
        did_you_mean = f"; did you mean '{hint[0]}'?" if hint else ""
        raise UsageError(f"no such backend: '{name}'{did_you_mean} (see 'poolbench list')")
    return REGISTRY[name]


def create(name: str, settings: Settings, **params) -> Backend:
    """Import the backend's module now, and build it (``params`` add to the registry's)."""
    entry = spec(name)
    module_name, class_name = entry.target.split(":")
    backend = getattr(importlib.import_module(module_name), class_name)(settings, **entry.params, **params)
    backend.spec = entry
    return backend


def build(row) -> Backend:
    """The backend of a plan's row (:class:`producer.plan.Row`), not started: what the executor
    hands the rounds as their ``create``."""
    return create(row.backend, row.settings, **row.params)


__all__ = [
    "build",
    "BASELINE",
    "BROKER_FAMILY",
    "DEFAULTS",
    "CELERY",
    "CELERY_POOL_MODELS",
    "GREENLETS",
    "INTERPRETERS",
    "MODELS",
    "PROCESSES",
    "SERIAL",
    "SHARED_GIL_MODELS",
    "THREADS",
    "VIA_BROKER",
    "VIA_LOCAL",
    "INTERPRETER_POOL",
    "IN_PROCESS",
    "LOCAL",
    "NEEDS",
    "REGISTRY",
    "RUNNING_WORKERS",
    "Backend",
    "BackendInfo",
    "BackendSpec",
    "create",
    "spec",
]
