"""``load``'s rows and what feeds them: the house's Plan, served by each row's family.

:func:`plan` is ``compare``'s plan (:func:`producer.plan.compare`) of the selected backends;
:func:`serve` has each family serve its rows (an embedded Redis and workers sized by the rows,
or the running workers of ``--broker``), as :func:`producer.session.serve` does for a batch;
:func:`target` builds a row's traffic target from its declared ``via`` and ``model``:

- a ``local`` row: load's own child pool (:mod:`.local`), threads for the ``threads`` and
  ``serial`` models (serial: one thread), processes for ``processes``;
- a ``broker`` row: its family's traffic side, named in the family registry
  (:attr:`producer.backends.family.FamilyEntry.traffic`), imported on first use.

Nothing here reads a backend's name.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
from collections.abc import Iterator

from producer import backends
from producer import plan as planning
from producer.backends.family import entry as family_entry
from producer.backends.family import family
from producer.errors import UsageError

LOCAL_KINDS = {backends.THREADS: "threads", backends.PROCESSES: "processes", backends.SERIAL: "threads"}
"""Local models a child pool of load's runs; serial is one thread."""


def check(settings) -> None:
    """UsageError, before any work, for a backend load cannot feed."""
    for name in settings.backends:
        spec = backends.spec(name)
        if spec.for_tests:
            raise UsageError(f"'{name}' is a test double; load measures real pools")
        if spec.via == backends.VIA_LOCAL and spec.model not in LOCAL_KINDS:
            raise UsageError(
                f"load feeds local threads and processes pools and broker pools; not '{name}' ({spec.model})"
            )
        if spec.via == backends.VIA_BROKER and not family_entry(spec.family).traffic:
            raise UsageError(f"load cannot feed the {spec.family} family's backends yet; not '{name}'")


def plan(settings) -> planning.Plan:
    """The rows of the selected backends, in the producer's own Python (one group)."""
    return planning.compare(settings)


@contextlib.contextmanager
def serve(plan: planning.Plan, allow: list[str], status=None) -> Iterator[tuple[planning.Plan, dict | None]]:
    """The plan with its broker's URL in each broker row, and what the document says of the
    services: each family's, started here and stopped on leaving (whatever happens)."""
    with contextlib.ExitStack() as started:
        rows, stack, url = list(plan.rows), None, plan.settings.broker_url
        for name in plan.families():
            mine = [i for i, row in enumerate(rows) if row.spec.family == name]
            services = started.enter_context(
                family(name).services(plan.settings, [rows[i] for i in mine], allow, status)
            )
            if services.broker_url is not None:
                url = services.broker_url
                for i in mine:
                    rows[i] = dataclasses.replace(rows[i], settings=rows[i].settings.replace(broker_url=url))
            stack = stack or services.stack
        served = dataclasses.replace(plan, rows=tuple(rows), settings=plan.settings.replace(broker_url=url))
        yield served, stack


def target(row: planning.Row, spec: str, size: int, run_s: float):
    """The row's traffic target, not started (a :class:`~producer.services.lifecycle.Started`)."""
    entry = row.spec
    if entry.via == backends.VIA_LOCAL:
        from producer.traffic.local import LocalTarget

        settings = row.settings if entry.model != backends.SERIAL else row.settings.replace(concurrency=1)
        return LocalTarget(row.label, entry.model, LOCAL_KINDS[entry.model], settings, spec, size, run_s)
    module_name, class_name = family_entry(entry.family).traffic.split(":")
    return getattr(importlib.import_module(module_name), class_name)(row, spec, size, run_s)
