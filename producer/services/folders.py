"""Temporary folders that say who owns them, so that a killed run's folder is removed by the next.

A run that ends in any ordinary way (Ctrl-C and SIGTERM included) removes its folder
itself. SIGKILL leaves no chance to, so each folder holds an ``owner`` file: the process
id and start time of the run that made it. :func:`remove_abandoned` removes the folders
whose owner no longer runs; a folder without an owner file (just being made, or made by
an older poolbench) is left alone.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import tempfile

import psutil

OWNER_FILE = "owner"
STACK_PREFIX = "poolbench-stack-"
"""The embedded stack's folders (Redis's files, the workers' logs)."""


def make_owned(prefix: str) -> str:
    """A new private folder under the temporary folder, with this process named as its owner."""
    folder = tempfile.mkdtemp(prefix=prefix)
    me = psutil.Process()
    with open(os.path.join(folder, OWNER_FILE), "w") as f:
        f.write(f"{me.pid} {me.create_time()!r}\n")
    return folder


def remove_abandoned(prefix: str, parent: str | None = None) -> list[str]:
    """Remove ``prefix*`` folders whose owner process has ended; return what was removed."""
    removed = []
    for folder in glob.glob(os.path.join(parent or tempfile.gettempdir(), f"{glob.escape(prefix)}*")):
        if _owner_gone(folder):
            shutil.rmtree(folder, ignore_errors=True)
            if not os.path.exists(folder):
                removed.append(folder)
    return removed


def _owner_gone(folder: str) -> bool:
    try:
        with open(os.path.join(folder, OWNER_FILE)) as f:
            pid_text, created_text = f.read().split()
        pid, created = int(pid_text), float(created_text)
    except (OSError, ValueError):
        return False  # no owner file, or not ours to judge
    try:
        return abs(psutil.Process(pid).create_time() - created) > 0.01  # the id was reused
    except psutil.NoSuchProcess:
        return True
    except psutil.Error:
        return False


def remove(folder: str | None) -> None:
    if folder:
        with contextlib.suppress(OSError):
            shutil.rmtree(folder)
