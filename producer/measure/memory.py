"""Peak memory of the processes that did a batch's work, sampled while it runs.

Which processes count is the backend's to say (:class:`Scope`): the producer process
for threads and the sequential baseline, the pool's child processes for processes,
an embedded Celery worker and its pool children for Celery. Workers reached through
``--broker`` run outside this process tree, maybe on other machines: their memory is
*unknown*, never zero.

A thread samples every :data:`INTERVAL_S` while the batch runs and stops with it. RSS
is cheap to read (``/proc/PID/statm``, about 10 µs a process); USS, the memory only
that process holds, means walking its page tables (``smaps``, about 1 ms for 100 MB),
so it is read only at the top of a rise: when the tree's RSS has reached a new peak and
stops rising (or the batch ends), at most every :data:`USS_EVERY_S`; a batch whose
memory climbs once and falls costs one reading (about 1 ms per 100 MB process).
A peak shorter than the interval can be missed: the figures are a lower bound of the
true peak, which ``/usr/bin/time -v`` (the largest single process) can confirm.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import psutil

from producer.measure.stats import describe

INTERVAL_S = 0.02
USS_EVERY_S = 0.1
REFRESH_S = 0.5
"""How often the tree's processes are listed again (listing walks all of /proc)."""


@dataclass(frozen=True)
class Scope:
    roots: tuple[int, ...]
    descendants: bool
    """Count the roots' child processes (and theirs) too."""
    label: str
    unknown: str | None = None
    """Why this backend's memory cannot be measured here; None when it can."""


def unknown(reason: str) -> Scope:
    return Scope((), False, "unknown", reason)


class Sampler:
    """``start()`` before the batch, ``stop()`` after it: returns the batch's peaks."""

    def __init__(self, scope: Scope, interval: float = INTERVAL_S):
        self.scope, self.interval = scope, interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._procs: dict[int, tuple[psutil.Process, str]] = {}
        self._listed = 0.0
        self._per: dict[int, dict] = {}
        self.samples = 0
        self.peak_rss = 0
        self.peak_uss: int | None = None
        self._uss_at = 0.0
        self._uss_due = False
        self._last_total = 0

    def start(self) -> Sampler:
        if self.scope.unknown is None:
            self._list()
            self._thread = threading.Thread(target=self._loop, name="poolbench-memory", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> dict:
        if self._thread is not None:
            self._stop.set()
            self._thread.join(timeout=5)
            self._thread = None
        return self.result()

    def _list(self) -> None:
        procs = {}
        for pid in self.scope.roots:
            try:
                root = psutil.Process(pid)
                procs[pid] = (root, "root")
                if self.scope.descendants:
                    procs.update((child.pid, (child, "child")) for child in root.children(recursive=True))
            except psutil.Error:
                continue
        self._procs = procs
        self._listed = time.monotonic()

    def _loop(self) -> None:
        self._sample()
        while not self._stop.wait(self.interval):
            if time.monotonic() - self._listed >= REFRESH_S:
                self._list()
            self._sample()
        self._sample(final=True)  # the batch's end: what was built and still held

    def _sample(self, final: bool = False) -> None:
        total = 0
        for pid, (proc, role) in list(self._procs.items()):
            try:
                rss = proc.memory_info().rss
            except psutil.Error:  # ended: its peak so far stays
                continue
            entry = self._per.setdefault(pid, {"pid": pid, "role": role, "peak_rss_bytes": 0})
            entry["peak_rss_bytes"] = max(entry["peak_rss_bytes"], rss)
            total += rss
        self.samples += 1
        if total > self.peak_rss:
            self.peak_rss = total
            self._uss_due = True
        rising = total > self._last_total
        self._last_total = total
        now = time.monotonic()
        if self._uss_due and (final or not rising) and now - self._uss_at >= USS_EVERY_S:
            self._read_uss(now)

    def _read_uss(self, now: float) -> None:
        total, readable = 0, False
        for pid, (proc, _) in list(self._procs.items()):
            try:
                uss = proc.memory_full_info().uss
            except psutil.Error:  # AccessDenied for another user's process, or it ended
                continue
            readable = True
            entry = self._per.setdefault(pid, {"pid": pid, "role": "child", "peak_rss_bytes": 0})
            entry["peak_uss_bytes"] = max(entry.get("peak_uss_bytes") or 0, uss)
            total += uss
        if readable:
            self.peak_uss = max(self.peak_uss or 0, total)
        self._uss_at, self._uss_due = now, False

    def result(self) -> dict:
        if self.scope.unknown is not None:
            return unknown_result(self.scope.unknown)
        return {
            "peak_rss_bytes": self.peak_rss or None,
            "peak_uss_bytes": self.peak_uss,
            "processes": len(self._per),
            "samples": self.samples,
            "interval_s": self.interval,
            "scope": self.scope.label,
            "per_process": sorted(self._per.values(), key=lambda e: (e["role"] != "root", e["pid"])),
        }


def unknown_result(reason: str) -> dict:
    return {"peak_rss_bytes": None, "peak_uss_bytes": None, "scope": "unknown", "unknown": reason}


def summarise(rounds: list[dict]) -> dict:
    """A backend's memory over its measured batches: the highest peak, and the spread of
    the per-batch peaks; the per-process figures of the batch with the highest peak."""
    known = [m for m in rounds if m and m.get("peak_rss_bytes")]
    if not known:
        reasons = [m.get("unknown") for m in rounds if m and m.get("unknown")]
        return unknown_result(reasons[0] if reasons else "no batch was sampled")
    top = max(known, key=lambda m: m["peak_rss_bytes"])
    uss = [m["peak_uss_bytes"] for m in known if m.get("peak_uss_bytes")]
    return {
        "peak_rss_bytes": top["peak_rss_bytes"],
        "peak_rss_per_batch": describe([m["peak_rss_bytes"] for m in known]).as_dict(),
        "peak_uss_bytes": max(uss) if uss else None,
        "processes": top["processes"],
        "scope": top["scope"],
        "interval_s": top["interval_s"],
        "per_process": top["per_process"],
    }
