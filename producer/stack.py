"""The embedded stack of a run without --broker: a private Redis and Celery workers.

Thin on purpose: the Redis server lives in :mod:`producer.services.redis`, the worker
fleet beside the Celery backend, and this only starts them in order, times the whole,
and stops them in reverse order whatever happens (Ctrl-C, SIGTERM and SIGHUP included).

Its temporary folder (Redis's files, the workers' logs) names the run that owns it; a
run killed with SIGKILL cannot remove it, so each start first removes the folders of
runs that no longer exist (:mod:`producer.services.folders`).
"""

from __future__ import annotations

import secrets
import time

from producer.backends.celery.workers import WorkerFleet, WorkerPlan
from producer.services import folders
from producer.services.environ import Interpreter
from producer.services.redis import RedisServer, mask_url
from worker.protocol import queue_for

FOLDER_PREFIX = folders.STACK_PREFIX


class EmbeddedStack:
    """A private Redis on a free 127.0.0.1 port and ``settings.workers[pool]`` workers per pool.

    Redis gets a random password, so that other users of the machine cannot reach it.
    """

    def __init__(
        self,
        settings,
        pools: list[str],
        allow: list[str],
        interpreter: Interpreter | None = None,
        plans: list[WorkerPlan] | None = None,
    ):
        self.settings = settings
        self.pools = list(dict.fromkeys(pools))
        self.plans = plans or [
            WorkerPlan(pool, queue_for(pool), settings.workers.get(pool, 1), settings.concurrency)
            for pool in self.pools
        ]
        self.allow = list(allow)
        self.interpreter = interpreter or Interpreter.current()
        self.broker_url: str | None = None
        self.startup_s: float | None = None
        self.folder: str | None = None
        self._redis: RedisServer | None = None
        self._fleet: WorkerFleet | None = None
        self.hosts = None
        """--hosts: the namespaces Redis and each fleet run in (:mod:`producer.services.netns`)."""

    def __enter__(self) -> EmbeddedStack:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self) -> None:
        folders.remove_abandoned(FOLDER_PREFIX)
        self.folder = folders.make_owned(FOLDER_PREFIX)
        began = time.perf_counter()
        deadline = time.monotonic() + self.settings.startup_timeout
        hosts = self.hosts = self._start_hosts() if self.settings.hosts else None
        where = hosts.redis_options() if hosts else {}
        self._redis = RedisServer(self.folder, password=secrets.token_urlsafe(18), **where)
        self._redis.start(deadline)
        self.broker_url = hosts.broker_url(self._redis.url, deadline) if hosts else self._redis.url
        if self.plans:
            self._fleet = WorkerFleet(
                self.plans,
                allow=self.allow,
                interpreter=self.interpreter,
                environ=self.settings.environ,
                folder=self.folder,
                prefetch=self.settings.prefetch,
                prefixes=hosts.prefixes() if hosts else None,
            )
            self._fleet.start(self.broker_url)
            self._fleet.wait_ready(self.broker_url, deadline, self.settings.startup_timeout)
        self.startup_s = time.perf_counter() - began

    def _start_hosts(self):
        from producer.services.netns import Hosts

        self.hosts = Hosts(self.pools, self.settings.link, self.folder, self.settings.environ)
        self.hosts.start()
        return self.hosts

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
                self.hosts.close()
            folder, self.folder = self.folder, None
            folders.remove(folder)
