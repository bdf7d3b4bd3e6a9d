"""A test double that ships with the code: a backend that can be told what goes wrong.

As httpx ships ``MockTransport`` and dramatiq ``StubBroker``, poolbench ships this, so that
every verification and timeout path can be tested without Redis and without sleeping.
It runs each task in this process, one after another, through ``workloads.run_task``
(so its records have the real shape), then applies its :class:`Script`:

    >>> script = Script(lose={2}, duplicate={0}, raises={1: ValueError("no good")})
    >>> with installed(script, name="lossy"):
    ...     session.rounds(Settings(backends=("sequential", "lossy")), "squares", 100)

Time is scripted too: ``delay`` adds seconds to a task on the backend's own clock (its
record's timestamps move; nothing sleeps), and a batch whose scripted time passes
--timeout raises :class:`BatchTimeout` as a real overrun would; ``hang`` is a task that
never finishes. With an empty script it is an honest, if slow, local backend; it is
never a default, and ``poolbench list`` shows it apart, for tests.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from producer.backends import REGISTRY, SERIAL, BackendSpec
from producer.backends.base import Backend
from producer.backends.failures import died
from producer.errors import BatchTimeout
from workloads import run_task

TARGET = "producer.backends.scripted:ScriptedBackend"


@dataclass(frozen=True)
class Script:
    """What goes wrong, by task index; every field empty: nothing does."""

    lose: frozenset[int] = frozenset()
    """Tasks that run but whose result never comes back."""
    duplicate: frozenset[int] = frozenset()
    """Tasks whose result comes back twice."""
    wrong: frozenset[int] = frozenset()
    """Tasks that return a different answer from the baseline's."""
    stray: frozenset[int] = frozenset()
    """Indexes of results that come back though no such task was sent."""
    raises: Mapping[int, BaseException] = field(default_factory=dict)
    """Tasks whose workload raises this exception (recorded as run_task records it)."""
    crash: Mapping[int, int] = field(default_factory=dict)
    """Tasks that kill their process, with multiprocessing's exit code (-9: SIGKILL)."""
    delay: Mapping[int, float] = field(default_factory=dict)
    """Seconds added to a task's run time on the scripted clock."""
    hang: frozenset[int] = frozenset()
    """Tasks that never finish: the batch overruns --timeout when it reaches one."""
    batches: frozenset[int] | None = None
    """Which batches (0 for the first run_batch call, warm-ups included) go wrong; None: all."""

    def __post_init__(self):
        for name in ("lose", "duplicate", "wrong", "stray", "hang"):
            object.__setattr__(self, name, frozenset(getattr(self, name)))
        if self.batches is not None:
            object.__setattr__(self, "batches", frozenset(self.batches))

    def as_dict(self) -> dict:
        """JSON-friendly, for the backend's description."""
        return {
            "lose": sorted(self.lose),
            "duplicate": sorted(self.duplicate),
            "wrong": sorted(self.wrong),
            "stray": sorted(self.stray),
            "raises": {str(i): f"{type(e).__name__}: {e}" for i, e in sorted(self.raises.items())},
            "crash": {str(i): code for i, code in sorted(self.crash.items())},
            "delay": {str(i): s for i, s in sorted(self.delay.items())},
            "hang": sorted(self.hang),
            "batches": sorted(self.batches) if self.batches is not None else None,
        }


HONEST = Script()


class ScriptedBackend(Backend):
    def __init__(self, settings, script: Script = HONEST):
        super().__init__(settings)
        self.script = script
        self.batches_run = 0

    @property
    def concurrency(self) -> int:
        return 1

    def run_batch(self, spec: str, size: int, tasks: int, into=None) -> list[dict]:
        batch, self.batches_run = self.batches_run, self.batches_run + 1
        script = self.script if self.script.batches is None or batch in self.script.batches else HONEST
        began = time.monotonic()
        scripted_s = 0.0  # time that passed on the scripted clock only
        records = [] if into is None else into  # each record as it is made, as a real backend does
        first = None
        for index in range(tasks):
            if index in script.hang:
                raise BatchTimeout(self.name, index, tasks, self.settings.timeout, running=[index])
            record = self._task(script, spec, size, index)
            record["started"] = record.get("started", time.time()) + scripted_s
            scripted_s += script.delay.get(index, 0.0)
            record["ended"] = record.get("ended", time.time()) + scripted_s
            if time.monotonic() - began + scripted_s > self.settings.timeout:
                raise BatchTimeout(self.name, index, tasks, self.settings.timeout, running=[index])
            if index not in script.lose:
                records.append(record)
                first = first or record
            if index in script.duplicate:
                records.append(dict(record))
        for index in sorted(script.stray) if first else ():
            records.append({**first, "index": index})
        return records

    def _task(self, script: Script, spec: str, size: int, index: int) -> dict:
        if index in script.crash:
            return died(index, script.crash[index])
        record = run_task(spec, size, index)
        if index in script.raises:
            exc = script.raises[index]
            record.pop("summary", None)
            record["error"] = {"type": type(exc).__name__, "message": str(exc)}
        elif index in script.wrong and "summary" in record:
            record["summary"] = {"scripted": "a wrong answer", "was": record["summary"]}
        return record

    def settings_info(self) -> dict:
        return {"script": self.script.as_dict()}


@contextlib.contextmanager
def installed(script: Script, name: str = "scripted-test", model: str = SERIAL) -> Iterator[BackendSpec]:
    """Register a backend ``name`` that follows ``script``, for as long as the block runs;
    ``model`` is the execution model it declares (it runs its tasks one by one whatever it says)."""
    if name in REGISTRY:
        raise ValueError(f"backend '{name}' exists already")
    entry = BackendSpec(
        name, TARGET, f"scripted: {script.as_dict()}", model, params={"script": script}, for_tests=True
    )
    REGISTRY[name] = entry
    try:
        yield entry
    finally:
        del REGISTRY[name]
