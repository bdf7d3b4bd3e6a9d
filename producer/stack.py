"""The embedded stack of a run without --broker: a private Redis and a family's workers.

Thin on purpose: the Redis server lives in :mod:`producer.services.redis`, the worker
fleet in its family (:mod:`producer.backends.family`), and this only starts them in order,
times the whole, and stops them in reverse order whatever happens (Ctrl-C, SIGTERM and
SIGHUP included).

Its temporary folder (Redis's files, the workers' logs) names the run that owns it; a
run killed with SIGKILL cannot remove it, so each start first removes the folders of
runs that no longer exist (:mod:`producer.services.folders`).
"""

from __future__ import annotations

import secrets
import time

from producer import backends
from producer.backends.family import family as family_named
from producer.services import folders
from producer.services.environ import Interpreter
from producer.services.redis import RedisServer, mask_url

FOLDER_PREFIX = folders.STACK_PREFIX


class EmbeddedStack:
    """A private Redis on a free 127.0.0.1 port and the family's workers: ``plans`` (its own),
    or ``settings.workers[pool]`` workers for each of ``pools``.

    Redis gets a random password, so that other users of the machine cannot reach it.
    """

    def __init__(
        self,
        settings,
        pools: list[str],
        allow: list[str],
        interpreter: Interpreter | None = None,
        plans: list | None = None,
        family=None,
    ):
        self.settings = settings
        self.family = family or family_named(backends.BROKER_FAMILY)
        self.pools = list(dict.fromkeys(pools))
        self.plans = plans or (self.family.pool_plans(settings, self.pools) if self.pools else [])
        self.allow = list(allow)
        self.interpreter = interpreter or Interpreter.current()
        self.broker_url: str | None = None
        self.startup_s: float | None = None
        self.folder: str | None = None
        self._redis: RedisServer | None = None
        self._fleet = None

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
        self._redis = RedisServer(self.folder, password=secrets.token_urlsafe(18))
        self._redis.start(deadline)
        self.broker_url = self._redis.url
        if self.plans:
            self._fleet = self.family.fleet(
                self.plans,
                self.allow,
                self.interpreter,
                self.settings.environ,
                self.folder,
                self.settings.prefetch,
            )
            self._fleet.start(self.broker_url)
            self._fleet.wait_ready(self.broker_url, deadline, self.settings.startup_timeout)
        self.startup_s = time.perf_counter() - began

    def describe(self) -> dict:
        return {
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
            folder, self.folder = self.folder, None
            folders.remove(folder)
