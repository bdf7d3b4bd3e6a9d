"""The built-in workloads: each is ``fn(size) -> summary``, top-level and picklable.

Each carries its metadata on the function, as CPython's ftscalingbench registers its
benchmarks: ``@workload(size=..., kind=..., text=...)``. Default sizes aim at roughly
20 to 100 ms per call on a laptop core, so that a default ``compare`` over every
backend stays well under a minute on 2 cores.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass

from workloads.summary import summarize_items


@dataclass(frozen=True)
class Meta:
    size: int
    """Default size: about 20 to 100 ms per call on a laptop core."""
    kind: str
    """What it is meant to show, in the verdict's words (:data:`KINDS`); the verdict measures it anyway."""
    text: str


KINDS = ("cpu-bound", "gil-releasing", "io-bound", "mixed")
"""The kinds of work, named as the verdict names them (``producer/report/verdict.py``)."""

REGISTERED: dict[str, tuple[Callable[[int], dict], Meta]] = {}
"""Name -> (function, metadata), in the order they are defined."""


def workload(*, size: int, kind: str, text: str):
    """Register a built-in workload under its function's name."""

    if kind not in KINDS:
        raise ValueError(f"kind {kind!r} is not one of {KINDS}")

    def register(func):
        REGISTERED[func.__name__] = (func, Meta(size, kind, text))
        return func

    return register


_MIB = 1024 * 1024
_BLOCK = bytes(range(256)) * (_MIB // 256)
_FILE_BLOCK = 64 * 1024


def do_something(size, out_list):
    """The original script's function, kept verbatim: it fills the list it is given."""
    for i in range(size):
        out_list.append(i**2)


@workload(size=1_000_000, kind="cpu-bound", text="the original do_something: list of i**2, pure Python")
def squares(size: int) -> dict:
    """Append ``i ** 2`` for ``i`` in ``range(size)``: pure Python, holds the GIL."""
    out: list[int] = []
    do_something(size, out)
    return summarize_items(out)


@workload(size=2_000_000, kind="cpu-bound", text="pure-Python loop, no allocation")
def countdown(size: int) -> dict:
    """Count down from ``size``: pure-Python bytecode with no allocation."""
    n = size
    while n > 0:
        n -= 1
    return {"count": size, "checksum": n}


@workload(size=50, kind="io-bound", text="time.sleep(size ms): simulated I/O")
def sleep(size: int) -> dict:
    """Wait ``size`` milliseconds: simulated I/O that releases the GIL."""
    time.sleep(size / 1000)
    return {"count": size, "checksum": 0}


@workload(size=200, kind="io-bound", text="write and fsync size x 64 KiB to a temp file, read back")
def fileio(size: int) -> dict:
    """Write ``size`` blocks of 64 KiB to a temporary file, fsync each, read them back."""
    digest = hashlib.sha256()
    with tempfile.TemporaryFile() as f:
        for _ in range(size):
            f.write(_BLOCK[:_FILE_BLOCK])
            f.flush()
            os.fsync(f.fileno())
        f.seek(0)
        while block := f.read(_FILE_BLOCK):
            digest.update(block)
    return {"count": size * _FILE_BLOCK, "checksum": digest.hexdigest()[:16]}


@workload(size=64, kind="gil-releasing", text="hashlib over size MiB: C code releasing the GIL")
def sha256(size: int) -> dict:
    """Hash ``size`` MiB with hashlib: C code that releases the GIL, so threads scale."""
    digest = hashlib.sha256()
    for _ in range(size):
        digest.update(_BLOCK)
    return {"count": size * _MIB, "checksum": digest.hexdigest()[:16]}


@workload(size=1_000_000, kind="mixed", text="pure-Python loop, then a wait of size/40000 ms")
def mixed(size: int) -> dict:
    """Half and half: a pure-Python loop of ``size`` steps, then a wait of ``size / 40000`` ms."""
    result = countdown(size)
    time.sleep(size / 40_000 / 1000)
    return result
