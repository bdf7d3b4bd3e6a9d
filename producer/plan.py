"""A plan: the rows one session runs, and nothing else plans.

``compare`` (the CLI, the API, ``--python``) and ``sweep`` only build a :class:`Plan`;
:func:`producer.session.execute` runs any plan and :func:`producer.session.judge` judges it.
Each :class:`Row` says everything about itself (its backend, its interpreter, its
concurrency, the embedded workers that serve it, its group), so nothing is read back out
of a label or a queue name later.

Groups (``--python PATH``, repeatable): the producer's own Python first, then each other
interpreter; every group gets the selected backends again, run under its interpreter, and
its own baseline. The families say which of their backends run where
(:mod:`producer.backends.family`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field

from producer import backends
from producer.backends.family import family
from producer.errors import UsageError
from producer.services.environ import Interpreter
from producer.settings import Settings
from producer.validation import Group, check, groups, no_backend

__all__ = ["Group", "Plan", "Row", "Sweep", "backend_names", "check", "compare", "groups", "sweep"]


@dataclass(frozen=True)
class Row:
    """One row of a run: a backend built with its own settings, under an interpreter."""

    label: str
    backend: str
    """Its registry name."""
    settings: Settings
    """The run's settings, with this row's concurrency (a sweep varies it)."""
    params: dict = field(default_factory=dict)
    """What its backend is built with beyond its registry entry (its interpreter, its queue)."""
    group: str = ""
    """Rows of one interpreter (``--python``): the group's first row is its baseline."""
    interpreter: Interpreter | None = None
    """Its group's interpreter (None: the producer's own)."""
    workers: int | None = None
    """Embedded worker processes that serve it (a distributed family's rows, embedded); else None."""
    served: tuple[str, ...] = ()
    """Other groups it serves (running workers, ``--broker``): they list it too."""
    sized: bool = False
    """Its concurrency and workers are its own (a sweep's point), not the run's."""
    first_group: bool = True
    """Its group is the first (the producer's own Python)."""

    @property
    def concurrency(self) -> int:
        return self.settings.concurrency

    @property
    def spec(self) -> backends.BackendSpec:
        return backends.spec(self.backend)


@dataclass(frozen=True)
class Sweep:
    concurrencies: tuple[int, ...]
    worker_counts: tuple[int, ...]


@dataclass(frozen=True)
class Plan:
    settings: Settings
    groups: tuple[Group, ...]
    rows: tuple[Row, ...]
    skipped: dict = field(default_factory=dict)
    """Group label -> sentences: what did not run there, and why."""
    sweep: Sweep | None = None

    def families(self) -> list[str]:
        return list(dict.fromkeys(row.spec.family for row in self.rows))


def backend_names(names: Iterable[str]) -> tuple[str, ...]:
    """The registry names of ``names``, the baseline first, each once; UsageError for none or an
    unknown one (with a suggestion)."""
    chosen = [backends.spec(n.strip()).name for n in names if n.strip()]
    if not chosen:
        raise no_backend()
    return tuple(dict.fromkeys([backends.BASELINE, *chosen]))


def compare(settings: Settings, found: list[Group] | None = None) -> Plan:
    """Every selected backend in every group (its baseline first), with the run's settings."""
    found = found if found is not None else groups(settings)
    rows, skipped = [], {}
    for group in found:
        for name in settings.backends:
            entry = backends.spec(name)
            if _running_workers(entry, settings) and not group.first:
                continue  # measured once, in the first group, and served to this one (Row.served)
            why = not_here(entry, group, settings)
            if why:
                skipped.setdefault(group.label, []).append(f"{name}: {why}")
                continue
            label = f"{name} [{group.label}]" if group.label else name
            rows.append(_row(label, entry, settings, group, found))
    return Plan(settings, tuple(found), tuple(rows), skipped)


def sweep(
    settings: Settings, concurrencies: list[int], worker_counts: list[int], found: list[Group] | None = None
) -> Plan:
    """The baseline once per group, then each backend at each concurrency, and each distributed
    backend at each number of embedded worker processes too."""
    broker_families = {
        backends.spec(n).family for n in settings.backends if backends.spec(n).via == backends.VIA_BROKER
    }
    if settings.broker_url and broker_families:
        titles = " and ".join(sorted(family(f).title for f in broker_families))
        raise UsageError(
            f"sweep starts {titles} workers of its own for every point; run it without --broker and REDIS_URL"
        )
    found = found if found is not None else groups(settings)
    rows = []
    for group in found:
        tag = f" [{group.label}]" if group.label else ""
        baseline = backends.spec(backends.BASELINE)
        rows.append(_row(backends.BASELINE + tag, baseline, settings, group, found))
        for name in settings.backends[1:]:
            entry = backends.spec(name)
            if not_here(entry, group, settings):
                continue
            for concurrency in concurrencies:
                at = settings.replace(concurrency=concurrency)
                counts = worker_counts if entry.via == backends.VIA_BROKER else [None]
                for count in counts:
                    label = f"{name} c={concurrency}" + (f" w={count}" if count else "") + tag
                    rows.append(_row(label, entry, at, group, found, workers=count, sized=True))
    return Plan(settings, tuple(found), tuple(rows), {}, Sweep(tuple(concurrencies), tuple(worker_counts)))


def _row(label, entry, settings, group, found, workers=None, sized=False) -> Row:
    embedded = settings.broker_url is None
    if entry.via == backends.VIA_BROKER and embedded and workers is None:
        workers = settings.workers.get(entry.pool, 1)
    served = ()
    if _running_workers(entry, settings):
        served = tuple(g.label for g in found if g.label != group.label)  # the same running workers
    row = Row(
        label, entry.name, settings, {}, group.label, group.interpreter, workers, served, sized, group.first
    )
    params = local_params(entry, group)
    params.update(family(entry.family).row_params(entry, row, settings))
    return dataclasses.replace(row, params=params)


def _running_workers(entry: backends.BackendSpec, settings: Settings) -> bool:
    return entry.via == backends.VIA_BROKER and settings.broker_url is not None


def local_params(entry: backends.BackendSpec, group: Group) -> dict:
    """What a backend of ``entry`` is built with to run under the group's interpreter (none
    under the producer's own: every backend runs there as it always has)."""
    if not group.first and entry.via == backends.VIA_LOCAL and entry.requires != backends.IN_PROCESS:
        return {"interpreter": group.interpreter}
    return {}


def not_here(entry: backends.BackendSpec, group: Group, settings: Settings) -> str | None:
    if entry.requires == backends.INTERPRETER_POOL:
        return group.interpreter.no_interpreter_pool
    if group.first:
        return None
    if entry.requires == backends.IN_PROCESS:
        return "it runs in the producer's own process, so only under its Python"
    return family(entry.family).not_here(entry, group, settings)
