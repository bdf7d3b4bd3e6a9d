"""One contract (tests/contract.py) over every backend: local, scripted, and Celery's pools.

The Celery pools need a real Redis and real ``python -m worker`` processes (the session's
``redis_url`` and ``workers`` fixtures); the rest need nothing but this machine.
"""

from __future__ import annotations

import contextlib

import pytest

from producer import backends
from tests.contract import CONTRACT_SETTINGS, BackendContract

LOCAL = ["sequential", "threads", "processes"]
CELERY_POOLS = ["prefork", "threads", "solo"]


class TestLocalBackends(BackendContract):
    @pytest.fixture(params=LOCAL)
    def make(self, request):
        return lambda **changes: backends.create(request.param, CONTRACT_SETTINGS.replace(**changes))


class TestScriptedBackendWithAnHonestScript(BackendContract):
    @pytest.fixture
    def make(self):
        return lambda **changes: backends.create("scripted", CONTRACT_SETTINGS.replace(**changes))


class TestScriptedFamily(BackendContract):
    """A whole distributed family as a test double: its services started as a session would."""

    @pytest.fixture
    def make(self):
        from producer import plan
        from producer.backends.family import family

        with contextlib.ExitStack() as stack:

            def make(**changes):
                settings = CONTRACT_SETTINGS.replace(backends=("sequential", "scripted-family"), **changes)
                row = plan.compare(settings).rows[1]
                served = stack.enter_context(family("scripted-family").services(settings, [row], [], None))
                return backends.create(
                    row.backend, settings.replace(broker_url=served.broker_url), **row.params
                )

            yield make


@pytest.mark.redis
class TestCeleryBackends(BackendContract):
    @pytest.fixture(params=CELERY_POOLS)
    def make(self, request, redis_url, workers):
        def make(**changes):
            settings = CONTRACT_SETTINGS.replace(broker_url=redis_url, **changes)
            return backends.create(f"celery-{request.param}", settings)

        return make


class TestInterpretersBackend(BackendContract):
    """Subinterpreters in a child running 3.13 with the interpreters-pep-734 backport."""

    @pytest.fixture
    def make(self, with_subinterpreters):
        return lambda **changes: backends.create(
            "interpreters", CONTRACT_SETTINGS.replace(**changes), interpreter=with_subinterpreters
        )


class TestLocalBackendsUnderAFreeThreadedPython(BackendContract):
    """The local backends' children, started as a command under another interpreter."""

    @pytest.fixture(params=LOCAL)
    def make(self, request, free_threaded):
        return lambda **changes: backends.create(
            request.param, CONTRACT_SETTINGS.replace(**changes), interpreter=free_threaded
        )
