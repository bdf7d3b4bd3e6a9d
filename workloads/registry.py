"""Named workloads, and how a name or a ``module:function`` spec becomes a callable.

A spec is what travels to child processes and Celery workers, never the function
itself: a function loaded from a file cannot be pickled by reference, but its
spec can be resolved again on the other side.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib
import importlib.util
import inspect
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass

import workloads.builtin as builtin
from workloads.summary import summarize_items, summarize_value


class WorkloadError(Exception):
    """A workload spec that cannot be resolved to a callable."""


@dataclass(frozen=True)
class Workload:
    name: str
    spec: str
    func: Callable[[int], dict]
    default_size: int
    kind: str
    description: str


BUILTINS = builtin.REGISTERED
"""Name -> (function, metadata) of every built-in, as ``@workload`` registered them."""

_cache: dict[str, Workload] = {}
_lock = threading.Lock()  # threads of one pool may resolve the same file at once


def names() -> list[str]:
    return list(BUILTINS)


def is_builtin(spec: str) -> bool:
    return spec in BUILTINS


def canonical(spec: str) -> str:
    """The form a spec travels in: file paths made absolute, so any process can find them."""
    target, sep, attr = spec.rpartition(":")
    if sep and target.endswith(".py"):
        return f"{os.path.abspath(target)}:{attr}"
    return spec


def spec_of(func: Callable) -> str:
    """The spec that names a function object, so that other processes can import it again.

    A built-in is named by its name; a function of ``__main__`` by its file. A lambda, a
    nested function or one defined in a notebook cell has no importable name.
    """
    name = getattr(func, "__qualname__", "")
    module = sys.modules.get(getattr(func, "__module__", None) or "")
    if module is builtin and BUILTINS.get(name, (None,))[0] is func:
        return name
    if not name or "<" in name or "." in name or module is None:
        raise WorkloadError(
            f"{func!r} cannot be imported by another process: define it at the top level of a module"
        )
    if module.__name__ == "__main__" or module.__name__.startswith("poolbench_user_"):
        path = getattr(module, "__file__", None)
        if not path:
            raise WorkloadError(
                f"{name} is defined in an interactive session: move it into a .py file and import it"
            )
        return f"{os.path.abspath(path)}:{name}"
    return f"{module.__name__}:{name}"


def resolve(spec: str) -> Workload:
    """Return the workload a name or ``module:function`` / ``file.py:function`` spec names."""
    spec = canonical(spec)
    found = _cache.get(spec)
    if found is None:
        with _lock:
            found = _cache.get(spec) or _cache.setdefault(spec, _load(spec))
    return found


def _load(spec: str) -> Workload:
    if spec in BUILTINS:
        func, meta = BUILTINS[spec]
        return Workload(spec, spec, func, meta.size, meta.kind, meta.text)
    target, sep, attr = spec.rpartition(":")
    if not sep or not target or not attr:
        hint = difflib.get_close_matches(spec, BUILTINS, n=1)
        did_you_mean = f"; did you mean '{hint[0]}'?" if hint else ""
        raise WorkloadError(
            f"unknown workload '{spec}'{did_you_mean} "
            "(use a built-in name, package.module:function or path/to/file.py:function)"
        )
    module = _import_file(target) if target.endswith(".py") else _import_module(target)
    func = getattr(module, attr, None)
    if not callable(func):
        raise WorkloadError(f"'{target}' has no function '{attr}'")
    doc = (inspect.getdoc(func) or "user workload").splitlines()[0]
    return Workload(spec, spec, _adapt(func), 0, "unknown", doc)


def _import_module(name: str):
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise WorkloadError(f"cannot import module '{name}': {exc}") from exc
    except (Exception, SystemExit) as exc:  # its import ran and failed, or called sys.exit()
        raise WorkloadError(f"cannot import module '{name}': {_failure(exc)}") from exc


def _import_file(path: str):
    if not os.path.isfile(path):
        raise WorkloadError(f"workload file '{path}' does not exist")
    digest = hashlib.sha256(path.encode()).hexdigest()[:8]
    name = f"poolbench_user_{os.path.splitext(os.path.basename(path))[0]}_{digest}"
    if name in sys.modules:
        return sys.modules[name]
    module_spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    try:
        module_spec.loader.exec_module(module)
    except (Exception, SystemExit) as exc:  # SystemExit: the file calls sys.exit() when imported
        del sys.modules[name]
        raise WorkloadError(f"cannot import '{path}': {_failure(exc)}") from exc
    return module


def _failure(exc: BaseException) -> str:
    if isinstance(exc, SystemExit):
        return f"it called sys.exit({exc.code!r}) when imported"
    return f"{type(exc).__name__}: {exc}"


def _adapt(func: Callable) -> Callable[[int], dict]:
    """Give any user function the ``fn(size) -> summary`` shape.

    A function with the original ``(size, out_list)`` signature gets a fresh list and
    its contents come back as a summary: in a child process the list it filled would
    otherwise die with the process, which is how the original script lost its results.
    """
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):  # a builtin without a signature: let the first call tell
        signature = None
    params = list(signature.parameters.values()) if signature else []
    required = [
        p for p in params if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    keyword_only = [p.name for p in params if p.kind is p.KEYWORD_ONLY and p.default is p.empty]
    takes_any = any(p.kind is p.VAR_POSITIONAL for p in params)
    if signature and (
        keyword_only or len(required) > 2 or (not required and not takes_any and len(params) == 0)
    ):
        shown = f"{getattr(func, '__name__', 'the function')}{signature}"
        raise WorkloadError(
            f"{shown} cannot be called as fn(size) or fn(size, out_list); "
            "give it one argument (the size), or the original (size, out_list)"
        )
    if len(required) == 2:

        def with_out_list(size: int) -> dict:
            out: list = []
            func(size, out)
            return summarize_items(out)

        return with_out_list

    def with_return(size: int) -> dict:
        return summarize_value(func(size))

    return with_return
