"""The producer's Celery app: its lifecycle, shared per broker URL, and error translation.

The producer imports only :mod:`worker.protocol` from the worker side. It knows the
task by name and the shape of its failures: the worker raises
``WorkloadFailed(type_name, message)``, which Celery rebuilds here, without importing
the worker's module, as an exception of that name with those two args.
"""

from __future__ import annotations

import contextlib
import threading

import kombu.exceptions
import kombu.pools
import kombu.utils.collections
import redis
from celery import Celery

from producer.services.redis import CONNECT_TIMEOUT, unavailable
from worker import protocol

BROKER_ERRORS = (redis.RedisError, kombu.exceptions.OperationalError, OSError)
"""What a lost or unreachable broker raises, through redis-py, kombu or the socket."""


@contextlib.contextmanager
def broker_errors(url: str, doing: str = "talk to"):
    """Translate redis-py, kombu and socket errors into BrokerUnavailable."""
    try:
        yield
    except BROKER_ERRORS as exc:
        raise unavailable(url, exc, doing) from None


class SharedApps:
    """One producer-side Celery app per broker URL, shared by the backends that use it.

    kombu keeps one connection pool per broker URL for the whole process, so two apps
    on one URL share it anyway, and closing one app's pool would cut the other's
    connections mid-run. Sharing the app makes that explicit; the last ``release``
    closes its connections for real (``Celery.close()`` only drops references).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._apps: dict[str, tuple[Celery, int]] = {}

    def acquire(self, url: str) -> Celery:
        with self._lock:
            app, users = self._apps.get(url) or (make_app(url), 0)
            self._apps[url] = (app, users + 1)
            return app

    def release(self, url: str) -> None:
        with self._lock:
            app, users = self._apps.pop(url)
            if users > 1:
                self._apps[url] = (app, users - 1)
                return
        close_app(app)


APPS = SharedApps()
"""The process's producer-side apps: the Celery backends and the embedded stack share them."""


def make_app(url: str) -> Celery:
    """A Celery app of the producer's own: JSON only, results over Redis pub/sub."""
    app = Celery("poolbench", broker=url, backend=url, set_as_current=False)
    app.conf.update(
        accept_content=protocol.ACCEPT_CONTENT,
        result_accept_content=protocol.ACCEPT_CONTENT,
        task_serializer=protocol.SERIALIZER,
        result_serializer=protocol.SERIALIZER,
        task_send_sent_event=False,
        broker_connection_timeout=CONNECT_TIMEOUT,
        redis_socket_connect_timeout=CONNECT_TIMEOUT,
    )
    return app


def close_app(app: Celery) -> None:
    """Close the app's result, producer and broker connections, and forget its pool."""
    backend = app._backend  # made on first use; private, but creating one just to close it is waste
    if backend is not None:
        with contextlib.suppress(*BROKER_ERRORS):
            backend.result_consumer.stop()
        backend.client.connection_pool.disconnect()
    # Celery takes both pools from kombu's process-wide registries, keyed by broker URL:
    # close them, then drop them there too, so that a later app on this URL starts afresh.
    connection = app.connection_for_write()
    for group in (kombu.pools.producers, kombu.pools.connections):
        pool = group.get(kombu.utils.collections.eqhash(connection))
        if pool is not None:
            pool.force_close_all()
            del group[connection]
    app.close()


def failure_of(exc: object) -> dict:
    """``{"type", "message"}`` of a failed task, the workload's own where it raised."""
    args = getattr(exc, "args", ())
    if type(exc).__name__ == protocol.WORKLOAD_FAILED and len(args) == 2:
        return {"type": str(args[0]), "message": str(args[1])}
    if isinstance(exc, BaseException):
        return {"type": type(exc).__name__, "message": str(exc)}
    return {"type": "UnexpectedResult", "message": f"the worker returned {exc!r} instead of a record"}
