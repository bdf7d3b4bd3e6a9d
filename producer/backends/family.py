"""Families of backends: the local one, and the distributed ones that reach workers through a broker.

A backend's ``family`` (in its :class:`~producer.backends.BackendSpec`) names an entry here. As
Celery's pool registry does, each entry is a ``"module:Class"`` imported on first use, so a
family's library costs nothing until one of its backends is chosen; and it declares whether
its backends run ``via`` a broker, which the registry reads without importing anything.

A distributed family implements :class:`Family`: what the session, ``sweep`` and ``--python``
ask of it. A second one (Dramatiq, RQ) is one folder beside ``backends/celery/`` and one line
in :data:`FAMILIES`; :mod:`producer.backends.scripted_family` is a test double of one.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from producer.errors import UsageError

if TYPE_CHECKING:
    from producer.backends import BackendSpec
    from producer.plan import Group, Row
    from producer.settings import Settings

Status = Callable[[str], None]


@dataclass(frozen=True)
class FamilyEntry:
    target: str
    """``module:Class``, imported on first use."""
    via: str
    """``local`` or ``broker``: where its backends run their calls."""
    probes: tuple[str, ...] = ()
    """Modules its workers may import: each interpreter of a run is asked which it lacks
    (``Interpreter.missing``), without importing the family."""
    traffic: str = ""
    """``module:Class`` of its ``poolbench load`` target (:mod:`producer.traffic.targets`),
    imported on first use; empty: ``load`` cannot feed its backends."""


FAMILIES: dict[str, FamilyEntry] = {
    "local": FamilyEntry("producer.backends.family:LocalFamily", "local"),
    "celery": FamilyEntry(
        "producer.backends.celery.family:CeleryFamily",
        "broker",
        ("celery", "kombu", "redis", "billiard", "gevent"),
        traffic="producer.backends.celery.traffic:CeleryTarget",
    ),
    "scripted-family": FamilyEntry("producer.backends.scripted_family:ScriptedFamily", "broker"),
}


@dataclass
class Services:
    """What serves a family's rows during a session: its broker's URL (None for a local family)
    and the settings it reports for the document (``stack``: the embedded Redis and workers as
    they came up, or the running broker reached; None when nothing was started or reached).
    Each backend reports its own workers' real settings in its ``describe()``."""

    broker_url: str | None = None
    stack: dict | None = None


class Family(Protocol):
    name: str
    title: str
    """How messages name it: ``Celery``."""
    knobs: tuple[str, ...]
    """The :class:`Settings` fields only its backends honour (``chunks``, ``prefetch``, ...)."""

    def check(self, settings: Settings, specs: list[BackendSpec], groups: list[Group]) -> None:
        """UsageError, before any work, for what its selected backends cannot run with."""

    def not_here(self, spec: BackendSpec, group: Group, settings: Settings) -> str | None:
        """Why ``spec`` has no row in ``group`` (None: it has one)."""

    def row_params(self, spec: BackendSpec, row: Row, settings: Settings) -> dict:
        """What a backend of this row is built with beyond its registry entry (e.g. its queue)."""

    def worker_modules(self, spec: BackendSpec) -> tuple[str, ...]:
        """Modules an interpreter must import to run this backend's workers."""

    def services(
        self, settings: Settings, rows: list[Row], allow: list[str], status: Status | None
    ) -> contextlib.AbstractContextManager[Services]:
        """Start its services embedded (and stop them, whatever happens, on leaving), or
        attach to the running ones of ``settings.broker_url``."""

    def breakdown(self, batches: list[list[dict]], producer_host: str | None) -> dict | None:
        """Its per-task breakdown of a backend's measured batches (None: it has none)."""


class LocalFamily:
    """The producer's own child processes: nothing to start, nothing to attach to."""

    name = "local"
    title = "local"
    knobs: tuple[str, ...] = ()

    def check(self, settings, specs, groups) -> None:
        return None

    def not_here(self, spec, group, settings) -> str | None:
        return None

    def row_params(self, spec, row, settings) -> dict:
        return {}

    def worker_modules(self, spec) -> tuple[str, ...]:
        return ()

    @contextlib.contextmanager
    def services(self, settings, rows, allow, status) -> Iterator[Services]:
        yield Services()

    def breakdown(self, batches, producer_host) -> dict | None:
        return None


def via(name: str) -> str:
    """``local`` or ``broker`` for the family ``name``, without importing it."""
    return entry(name).via


def entry(name: str) -> FamilyEntry:
    if name not in FAMILIES:
        raise UsageError(f"no such backend family: '{name}' (one of {', '.join(FAMILIES)})")
    return FAMILIES[name]


_loaded: dict[str, Family] = {}


def family(name: str) -> Family:
    """The family ``name``, imported now (once)."""
    if name not in _loaded:
        module_name, class_name = entry(name).target.split(":")
        _loaded[name] = getattr(importlib.import_module(module_name), class_name)()
    return _loaded[name]
