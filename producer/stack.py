"""The embedded stack of a run without --broker, by pool names: a private Redis and the
default distributed family's workers (:data:`producer.backends.BROKER_FAMILY`).

The stack itself is :class:`producer.services.stack.PrivateStack`, which knows no family; a
session gets its stack from each family's ``services()``. This names pools for callers that
start a stack by hand (tests, a Redis alone with no pools).
"""

from __future__ import annotations

from producer import backends
from producer.backends.family import family as family_named
from producer.services.environ import Interpreter
from producer.services.stack import FOLDER_PREFIX, PrivateStack

__all__ = ["FOLDER_PREFIX", "EmbeddedStack"]


class EmbeddedStack(PrivateStack):
    """A private Redis and ``settings.workers[pool]`` workers for each of ``pools`` (or ``plans``)."""

    def __init__(
        self,
        settings,
        pools: list[str],
        allow: list[str],
        interpreter: Interpreter | None = None,
        plans: list | None = None,
    ):
        self.settings = settings
        self.family = family_named(backends.BROKER_FAMILY)
        self.pools = list(dict.fromkeys(pools))
        self.plans = plans or (self.family.pool_plans(settings, self.pools) if self.pools else [])
        self.allow = list(allow)
        fleet = self._fleet_for if self.plans else None
        hosts = self.family.placement(settings, self.plans) if settings.hosts else None
        super().__init__(settings.startup_timeout, fleet, interpreter, hosts)

    def _fleet_for(self, folder: str, prefixes: dict | None = None):
        s = self.settings
        return self.family.fleet(
            self.plans, self.allow, self.interpreter, s.environ, folder, s.prefetch, prefixes
        )
