"""What the registry says of a run's settings, before any work: the interpreters of the run
(its groups) and every check that needs the backends' registry or their families.

:meth:`producer.settings.Settings.check` calls :func:`check`; :mod:`producer.plan` builds its
groups with :func:`groups`. It reads a ``Settings`` and never imports the module, so that
settings, plan and registry import one another in one direction only.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

from producer import backends
from producer.backends.family import FAMILIES, family
from producer.errors import UsageError
from producer.services.environ import Interpreter

if TYPE_CHECKING:
    from producer.settings import Settings


@dataclass(frozen=True)
class Group:
    label: str
    """How its rows are marked, e.g. ``3.13.5t``; empty when it is the only group."""
    interpreter: Interpreter
    first: bool


def no_backend() -> UsageError:
    listed = ", ".join(name for name, entry in backends.REGISTRY.items() if not entry.for_tests)
    return UsageError(f"--backends names no backend; choose from {listed} (see 'poolbench list')")


def groups(settings: Settings, here: Interpreter | None = None) -> list[Group]:
    """This Python, then each of ``settings.pythons`` not already in the list."""
    found: dict[str, Interpreter] = {}
    for python in (here or Interpreter.current(backends.NEEDS), *settings.pythons):
        found.setdefault(python.executable, python)
    pythons = list(found.values())
    if len(pythons) == 1:
        return [Group("", pythons[0], True)]
    labels = [p.label for p in pythons]
    seen: Counter = Counter()
    out = []
    for i, (python, label) in enumerate(zip(pythons, labels, strict=True)):
        seen[label] += 1
        out.append(Group(label + (f"#{seen[label]}" if labels.count(label) > 1 else ""), python, i == 0))
    return out


def check(settings: Settings, found: list[Group] | None = None) -> None:
    """UsageError, before any work, for a backend no interpreter of the run can serve, or a
    setting no selected backend honours. Called by :meth:`Settings.check`."""
    if not settings.backends:
        raise no_backend()
    specs = [backends.spec(name) for name in settings.backends]
    found = found if found is not None else groups(settings)
    for entry in specs:
        if entry.requires == backends.INTERPRETER_POOL and all(
            g.interpreter.no_interpreter_pool for g in found
        ):
            why = found[0].interpreter.no_interpreter_pool
            raise UsageError(
                f"{entry.name}: {why}; run it under a Python that has InterpreterPoolExecutor with "
                "--python PATH (3.14, or 3.12/3.13 with interpreters-pep-734)"
            )
    chosen = {entry.family for entry in specs}
    honoured = {knob for name in chosen for knob in family(name).knobs}
    unheard = [knob for knob in KNOB_FLAGS if _set(settings, knob) and knob not in honoured]
    owners = [name for name in FAMILIES if unheard and set(unheard) & set(family(name).knobs)]
    flags = [KNOB_FLAGS[knob] for knob in unheard if knob != "workers"]  # its owner names its pools
    if flags and owners:
        raise UsageError(
            f"{', '.join(flags)} apply to {family(owners[0]).title} backends, and none is selected"
        )
    for name in dict.fromkeys([*chosen, *owners]):
        family(name).check(settings, [s for s in specs if s.family == name], found)


KNOB_FLAGS = {
    "chunks": "--chunks",
    "prefetch": "--prefetch",
    "no_result": "--no-result",
    "workers": "--workers",
    "hosts": "--hosts",
    "link": "--link",
}
"""Settings only some families honour, and their flags."""
_UNSET = {"chunks": 1, "prefetch": None, "no_result": False, "workers": {}, "hosts": False, "link": None}


def _set(settings: Settings, knob: str) -> bool:
    return getattr(settings, knob) != _UNSET[knob]
