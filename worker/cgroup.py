"""The CPU quota of this process's cgroup: what a container's ``cpus:`` really grants.

``os.sched_getaffinity`` counts the CPUs a process may run on; a CFS quota (docker's
``cpus: 1``, Kubernetes' CPU limit) leaves them all visible and only rations the time
spent on them. Celery sizes its pool from the CPU count and so ignores the quota
(celery#10320); poolbench reads both and uses the smaller.

Two layouts exist, and a machine may mix them (systemd's "hybrid" mode: cgroup v1
controllers plus an empty v2 tree):

- cgroup v2: ``cpu.max`` holds ``"$MAX $PERIOD"``, ``MAX`` being ``max`` for no limit;
- cgroup v1: ``cpu.cfs_quota_us`` (``-1`` for no limit) and ``cpu.cfs_period_us``.

A limit may sit on any ancestor of the process's cgroup, so every level up to the
mount's root is read and the tightest one wins. The parsers are pure functions of the
files' text; :func:`read_quota` takes the file reader as a parameter so that tests can
hand it sample contents. Standard library only: it sits beside
:mod:`worker.protocol` as a module both sides share (the producer's ``measure.host`` and the
worker's settings and ``poolbench_info`` read the same quota).
"""

from __future__ import annotations

import math
import os
import posixpath
from collections.abc import Callable
from dataclasses import dataclass

Reader = Callable[[str], "str | None"]
"""``read(path)``: the file's text, or None when it cannot be read."""


@dataclass(frozen=True)
class Mount:
    point: str
    root: str
    """The path inside the cgroup hierarchy that is mounted at ``point``."""
    fstype: str
    options: frozenset[str]


@dataclass(frozen=True)
class Quota:
    cpus: float
    """CPUs' worth of time per period, e.g. 1.5."""
    source: str
    """The file and its content, e.g. ``/sys/fs/cgroup/cpu.max: 150000 100000``."""


def parse_mountinfo(text: str) -> list[Mount]:
    """The cgroup mounts of ``/proc/self/mountinfo`` (see proc(5) for the fields)."""
    mounts = []
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if not sep or len(fields) < 5 or len(tail) < 3:
            continue
        if tail[0] in ("cgroup", "cgroup2"):
            mounts.append(Mount(fields[4], fields[3], tail[0], frozenset(tail[2].split(","))))
    return mounts


def parse_proc_cgroup(text: str) -> tuple[str | None, dict[str, str]]:
    """``(v2 path or None, {v1 controller: path})`` from ``/proc/self/cgroup``."""
    unified, controllers = None, {}
    for line in text.splitlines():
        parts = line.strip().split(":", 2)
        if len(parts) != 3:
            continue
        hierarchy, names, path = parts
        if hierarchy == "0" and names == "":
            unified = path
        for name in filter(None, names.split(",")):
            controllers[name] = path
    return unified, controllers


def parse_cpu_max(text: str) -> float | None:
    """CPUs granted by a v2 ``cpu.max`` (``"150000 100000"`` -> 1.5); None for ``max``."""
    parts = text.split()
    if not parts or parts[0] == "max":
        return None
    try:
        quota, period = int(parts[0]), int(parts[1]) if len(parts) > 1 else 100_000
    except ValueError:
        return None
    return quota / period if quota > 0 and period > 0 else None


def parse_cfs(quota_text: str, period_text: str) -> float | None:
    """CPUs granted by v1 ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us``; None for ``-1``."""
    try:
        quota, period = int(quota_text.strip()), int(period_text.strip())
    except ValueError:
        return None
    return quota / period if quota > 0 and period > 0 else None


def _levels(mount: Mount, path: str) -> list[str]:
    """Directories from the process's cgroup up to the mount point, deepest first."""
    root = mount.root.rstrip("/") or "/"
    if root != "/" and not (path == root or path.startswith(root + "/")):
        return [mount.point]  # a path outside the mounted part: only the mount itself is ours
    inner = path[len(root) :] if root != "/" else path
    levels, here = [], posixpath.normpath(posixpath.join(mount.point, inner.lstrip("/")))
    while True:
        levels.append(here)
        if here == mount.point or len(here) <= len(mount.point):
            return levels
        here = posixpath.dirname(here)


def _tightest(found: list[Quota]) -> Quota | None:
    return min(found, key=lambda q: q.cpus) if found else None


def read_quota(read: Reader, mountinfo: str | None = None, proc_cgroup: str | None = None) -> Quota | None:
    """The tightest CPU quota over this process's cgroup and its ancestors; None when unlimited."""
    mountinfo = read("/proc/self/mountinfo") if mountinfo is None else mountinfo
    proc_cgroup = read("/proc/self/cgroup") if proc_cgroup is None else proc_cgroup
    if not mountinfo or not proc_cgroup:
        return None
    unified, controllers = parse_proc_cgroup(proc_cgroup)
    found: list[Quota] = []
    for mount in parse_mountinfo(mountinfo):
        if mount.fstype == "cgroup2" and unified is not None:
            for level in _levels(mount, unified):
                file = posixpath.join(level, "cpu.max")
                text = read(file)
                cpus = parse_cpu_max(text) if text else None
                if cpus is not None:
                    found.append(Quota(cpus, f"cgroup v2 {file}: {text.strip()}"))
        elif mount.fstype == "cgroup" and "cpu" in mount.options and "cpu" in controllers:
            for level in _levels(mount, controllers["cpu"]):
                quota_file = posixpath.join(level, "cpu.cfs_quota_us")
                quota, period = read(quota_file), read(posixpath.join(level, "cpu.cfs_period_us"))
                cpus = parse_cfs(quota, period) if quota and period else None
                if cpus is not None:
                    found.append(
                        Quota(cpus, f"cgroup v1 {quota_file}: {quota.strip()} per {period.strip()} µs")
                    )
    return _tightest(found)


def read_file(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def affinity_cpus() -> int:
    """CPUs this process may run on (a container's cpuset), not the host's count."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def usable_cpus(affinity: int, quota: Quota | None) -> float | int:
    """The smaller of the two; a whole number stays an int, a fractional quota (1.5) does not."""
    cpus = min(float(affinity), quota.cpus) if quota else float(affinity)
    cpus = max(cpus, 0.01)
    return int(cpus) if cpus == int(cpus) else round(cpus, 2)


def whole_cpus(affinity: int, quota: Quota | None) -> int:
    """CPUs to size a pool with: the quota rounded up, at least 1 (1.5 CPUs -> 2 processes)."""
    return max(1, min(affinity, math.ceil(quota.cpus)) if quota else affinity)


def available_cpus() -> int:
    """CPUs a pool on this machine may use: the cpuset, or the cgroup CPU quota rounded up if smaller.

    The one such count: the worker sizes its pool with it, ``convoy`` its load. Celery's
    own default counts the host's CPUs and ignores a container's ``cpus:`` quota
    (celery#10320); a pool of 8 processes under a 1-CPU quota only takes turns.
    """
    return whole_cpus(affinity_cpus(), read_quota(read_file))
