"""The explicit, recorded environment and interpreter of every child poolbench starts.

As pyperf's ``create_environ`` does, children do not inherit the whole environment:
only the variables below, which either let a process run at all (PATH, HOME, locale)
or change what is measured (thread counts of BLAS and OpenMP, ``PYTHON_GIL``). What
each child got is recorded with the run. The interpreter is a parameter, so another
Python (a free-threaded build, say) runs the workers the same way.

A child never runs with the current folder first on ``sys.path``: a user's
``worker.py`` or ``workloads.py`` there would shadow poolbench's own packages. The
folder is appended *after* them instead, so ``module:function`` specs still resolve.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from producer.errors import UsageError
from workloads import interpreter

PROJECT_ROOT = str(Path(__file__).resolve().parents[2])
"""Where ``producer``, ``worker`` and ``workloads`` live, installed or not."""

INHERITED = ("PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "TERM", "VIRTUAL_ENV")
INHERITED += ("PYTHONHASHSEED", "PYTHON_GIL", "PYTHONMALLOC", "SSL_CERT_FILE", "SSL_CERT_DIR")
INHERITED_PREFIXES = ("LC_", "OMP_", "OPENBLAS_", "MKL_", "NUMEXPR_", "BLIS_", "VECLIB_", "GOTO_")
"""Thread-count knobs of BLAS/OpenMP libraries: they change what a workload measures."""

PROBE = (
    "import json, sys; sys.path.insert(0, sys.argv[1]); from producer.services.environ import Needs, facts; "
    "print(json.dumps(facts(Needs.from_json(sys.argv[2]))))"
)
"""Run by another Python: the same facts :func:`facts` gives in-process."""
PROBE_TIMEOUT = 30.0
NOT_ASKED = "not asked whether it has InterpreterPoolExecutor"


@dataclass(frozen=True)
class Needs:
    """What to ask an interpreter besides its version and GIL: given by the backends' registry
    (``producer.backends.NEEDS``), so that this module knows no backend."""

    modules: tuple[str, ...] = ()
    """Modules whose absence is recorded (``Interpreter.missing``)."""
    interpreter_pool: str | None = None
    """``module:function`` that raises ImportError, saying why, where ``InterpreterPoolExecutor``
    is missing (``Interpreter.no_interpreter_pool``); None: not asked."""

    def to_json(self) -> str:
        return json.dumps({"modules": list(self.modules), "interpreter_pool": self.interpreter_pool})

    @classmethod
    def from_json(cls, text: str) -> Needs:
        data = json.loads(text)
        return cls(tuple(data["modules"]), data["interpreter_pool"])


def facts(needs: Needs = Needs()) -> dict:
    """:func:`workloads.interpreter`, plus what this Python lacks of ``needs``.

    Imports nothing that needs a package installed: it runs under every ``--python``.
    """
    found = interpreter()
    found["missing"] = [m for m in needs.modules if not _importable(m)]
    found["no_interpreter_pool"] = NOT_ASKED
    if needs.interpreter_pool:
        import importlib

        module_name, function = needs.interpreter_pool.split(":")
        try:
            getattr(importlib.import_module(module_name), function)()
            found["no_interpreter_pool"] = None
        except ImportError as exc:
            found["no_interpreter_pool"] = str(exc)
    return found


def inherited(environ: Mapping[str, str]) -> dict[str, str]:
    """The part of ``environ`` that children inherit (read once, at the edge)."""
    return {
        k: v for k, v in environ.items() if k in INHERITED or any(k.startswith(p) for p in INHERITED_PREFIXES)
    }


def child_environ(
    base: Mapping[str, str], extra: Mapping[str, str], cwd: str | None = None
) -> dict[str, str]:
    """``base`` plus ``extra``, with poolbench first and the user's folder last on PYTHONPATH."""
    env = {**base, **extra}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [PROJECT_ROOT, cwd or os.getcwd()]))
    env["PYTHONSAFEPATH"] = "1"  # 3.11+: no current folder in front of sys.path, as -P
    return env


def _importable(module: str) -> bool:
    if module in sys.modules:
        return True
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


@dataclass(frozen=True)
class Interpreter:
    """A Python that runs workers or tasks, as it describes itself."""

    executable: str
    version: str
    implementation: str
    version_info: tuple[int, int]
    gil_enabled: bool
    free_threaded_build: bool
    missing: tuple[str, ...] = ()
    """Modules of :attr:`Needs.modules` it cannot import (what a family's workers need)."""
    no_interpreter_pool: str | None = None
    """Why it has no ``InterpreterPoolExecutor`` (the ``interpreters`` backend); None if it has."""

    @classmethod
    def current(cls, needs: Needs = Needs()) -> Interpreter:
        return cls._from(facts(needs))

    @property
    def is_current(self) -> bool:
        """This is the producer's own interpreter (the same ``sys.executable``)."""
        return self.executable == sys.executable

    @property
    def label(self) -> str:
        """Short, for row names: ``3.13.5t`` for a free-threaded build, ``3.11.2`` otherwise."""
        return self.version + ("t" if self.free_threaded_build else "")

    @classmethod
    def probe(cls, path: str, needs: Needs = Needs()) -> Interpreter:
        """Ask ``path`` what it is, and what it lacks of ``needs`` (isolated from the caller's
        PYTHON* variables); UsageError if it is not a working Python 3.10 or later."""
        argv = [path, "-I", "-c", PROBE, PROJECT_ROOT, needs.to_json()]
        why = ""
        try:
            out = subprocess.run(argv, capture_output=True, text=True, timeout=PROBE_TIMEOUT)
            why = (out.stderr.strip().splitlines() or [""])[-1]
            found = cls._from(json.loads(out.stdout.strip().splitlines()[-1]))
        except subprocess.TimeoutExpired:
            raise UsageError(f"--python {path}: no answer within {PROBE_TIMEOUT:g} s") from None
        except (OSError, subprocess.SubprocessError, ValueError, IndexError, KeyError) as exc:
            why = why or (exc.strerror if isinstance(exc, OSError) else "")
            raise UsageError(
                f"--python {path}: not a working Python 3.10 or later" + (f" ({why})" if why else "")
            ) from None
        if found.version_info < (3, 10):
            raise UsageError(f"--python {path}: Python {found.version}; poolbench needs 3.10 or later")
        return found

    @classmethod
    def _from(cls, found: dict) -> Interpreter:
        return cls(
            executable=found["executable"],
            version=found["python_version"],
            implementation=found["python_implementation"],
            version_info=tuple(int(part) for part in found["python_version"].split(".")[:2]),
            gil_enabled=found["gil_enabled"],
            free_threaded_build=found["free_threaded_build"],
            missing=tuple(found.get("missing", ())),
            no_interpreter_pool=found.get("no_interpreter_pool"),
        )

    def module_argv(self, module: str) -> list[str]:
        """``python -m module`` without the current folder in front of ``sys.path``.

        ``-P`` exists from 3.11; older versions run the module through runpy after
        dropping ``sys.path[0]``.
        """
        if self.version_info >= (3, 11):
            return [self.executable, "-P", "-m", module]
        code = "import runpy, sys; del sys.path[0]; "
        code += f"runpy.run_module({module!r}, run_name='__main__', alter_sys=True)"
        return [self.executable, "-c", code]

    def as_dict(self) -> dict:
        data = asdict(self)
        data["version_info"] = list(self.version_info)
        data["missing"] = list(self.missing)
        return data
