"""A private stack: a Redis server and a fleet of workers someone else describes.

Thin on purpose: the Redis server lives in :mod:`producer.services.redis`, the workers in
the family that needs them (it hands over a ``fleet(folder)`` factory), and this only starts
them in order, times the whole, and stops them in reverse order whatever happens (Ctrl-C,
SIGTERM and SIGHUP included). It knows no backend and no family.

With ``hosts`` (``--hosts``, a :class:`~producer.services.netns.Placement`), Redis and each
named host's workers run in network namespaces of their own (:mod:`producer.services.netns`):
the fleet factory is then also given ``prefixes=``, host -> the argv to put in front of
that host's workers' commands, and nothing else of the namespaces.

Its temporary folder (Redis's files, the workers' logs) names the run that owns it; a
run killed with SIGKILL cannot remove it, so each start first removes the folders of
runs that no longer exist (:mod:`producer.services.folders`).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Protocol

from producer.services import folders
from producer.services.environ import Interpreter
from producer.services.lifecycle import Started
from producer.services.netns import Hosts, Placement
from producer.services.redis import RedisServer, mask_url

FOLDER_PREFIX = folders.STACK_PREFIX


class Fleet(Protocol):
    """Workers a family starts on the stack's Redis (e.g. ``celery.workers.WorkerFleet``)."""

    def start(self, broker_url: str) -> None: ...
    def wait_ready(self, broker_url: str, deadline: float, timeout: float) -> None: ...
    def describe(self) -> dict: ...
    def stop(self) -> None: ...
    def kill(self) -> None: ...


class PrivateStack(Started):
    """A private Redis on a free 127.0.0.1 port, then ``fleet(folder)``'s workers, if any.

    Redis gets a random password, so that other users of the machine cannot reach it.
    """

    def __init__(
        self,
        startup_timeout: float,
        fleet: Callable[[str], Fleet] | None = None,
        interpreter: Interpreter | None = None,
        hosts: Placement | None = None,
    ):
        self.startup_timeout = startup_timeout
        self.make_fleet = fleet
        self.interpreter = interpreter or Interpreter.current()
        self.broker_url: str | None = None
        self.startup_s: float | None = None
        self.folder: str | None = None
        self._redis: RedisServer | None = None
        self._fleet: Fleet | None = None
        self.placement = hosts
        self.hosts: Hosts | None = None
        """--hosts: the namespaces Redis and each fleet run in, once started."""

    def start(self) -> None:
        folders.remove_abandoned(FOLDER_PREFIX)
        self.folder = folders.make_owned(FOLDER_PREFIX)
        began = time.perf_counter()
        deadline = time.monotonic() + self.startup_timeout
        if self.placement is not None:
            p = self.placement
            self.hosts = Hosts(list(p.hosts), p.link, self.folder, p.environ)
            self.hosts.start()
        where = self.hosts.redis_options() if self.hosts else {}
        self._redis = RedisServer(self.folder, password=secrets.token_urlsafe(18), **where)
        self._redis.start(deadline)
        self.broker_url = self.hosts.broker_url(self._redis.url, deadline) if self.hosts else self._redis.url
        if self.make_fleet is not None:
            placed = {"prefixes": self.hosts.prefixes()} if self.hosts else {}
            self._fleet = self.make_fleet(self.folder, **placed)
            self._fleet.start(self.broker_url)
            self._fleet.wait_ready(self.broker_url, deadline, self.startup_timeout)
        self.startup_s = time.perf_counter() - began

    def describe(self) -> dict:
        return {
            **({"network": self.hosts.describe()} if self.hosts else {}),
            "broker": mask_url(self.broker_url) if self.broker_url else None,
            "redis": self._redis.describe() if self._redis else {},
            "workers": self._fleet.describe() if self._fleet else {},
            "interpreter": self.interpreter.as_dict(),
            "startup_s": self.startup_s,
        }

    def close(self) -> None:
        """Stop the workers (warm shutdown, then SIGKILL), then Redis; safe to call twice."""
        try:
            if self._fleet is not None:
                self._fleet.stop()
            if self._redis is not None:
                self._redis.stop()
        except BaseException:  # Ctrl-C while stopping: no more patience, but still no orphans
            for part in (self._fleet, self._redis):
                if part is not None:
                    part.kill()
            raise
        finally:
            if self.hosts is not None:
                self.hosts.close()  # the relay, every namespace and link
            folder, self.folder = self.folder, None
            folders.remove(folder)
