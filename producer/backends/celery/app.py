"""The producer's Celery app: its lifecycle, shared per broker URL, and error translation.

The producer imports only :mod:`worker.protocol` from the worker side. It knows the
task by name and the shape of its failures: the worker raises
``WorkloadFailed(type_name, message)``, which reaches the producer as JSON, an
exception type name with those two args. The app sends tasks and control commands
only; results are read from Redis by :mod:`producer.backends.celery.results`.
"""

from __future__ import annotations

import contextlib
import re
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


PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 0.5}
"""A publish gives up within about a second; the batch then waits for the broker itself."""


def make_app(url: str) -> Celery:
    """A Celery app of the producer's own: JSON only, the workers' transport options.

    No result backend: sending a task through one would subscribe to its result on a
    connection nobody reads; :mod:`producer.backends.celery.results` reads them, for
    every kind of batch (``--chunks`` and ``--no-result`` too).
    """
    app = Celery("poolbench", broker=url, backend=None, set_as_current=False)
    app.conf.update(
        accept_content=protocol.ACCEPT_CONTENT,
        result_accept_content=protocol.ACCEPT_CONTENT,
        task_serializer=protocol.SERIALIZER,
        result_serializer=protocol.SERIALIZER,
        task_send_sent_event=False,
        task_publish_retry_policy=PUBLISH_RETRY_POLICY,
        broker_connection_timeout=CONNECT_TIMEOUT,
        broker_transport_options=protocol.transport_options(),
    )
    return app


def close_app(app: Celery, pools: bool = True) -> None:
    """Close the app's result backend's connections, if it has one, and, unless another app on
    the URL still uses them (``pools`` False), kombu's producer and broker pools."""
    backend = app._backend  # made on first use; private, but creating one just to close it is waste
    if getattr(backend, "result_consumer", None) is not None:
        with contextlib.suppress(*BROKER_ERRORS):
            backend.result_consumer.stop()
        backend.client.connection_pool.disconnect()
    # Celery takes both pools from kombu's process-wide registries, keyed by broker URL:
    # close them, then drop them there too, so that a later app on this URL starts afresh.
    connection = app.connection_for_write()
    for group in (kombu.pools.producers, kombu.pools.connections) if pools else ():
        pool = group.get(kombu.utils.collections.eqhash(connection))
        if pool is not None:
            pool.force_close_all()
            del group[connection]
    app.close()


def failure_of(result: object) -> dict:
    """``{"type", "message"}`` of a failed task's result, the workload's own where it raised.

    Celery stores an exception as JSON: ``{"exc_type", "exc_message": [args], "exc_module"}``;
    ``AsyncResult.get`` rebuilds it as an exception of that name with those args.
    A prefork child that died on each delivery reaches here as Celery's ``WorkerLostError``.
    """
    if isinstance(result, BaseException):  # rebuilt by Celery (AsyncResult.get)
        name, args = type(result).__name__, list(result.args)
    elif isinstance(result, dict) and "exc_type" in result:  # as stored, read by .results
        name = str(result["exc_type"])
        args = result.get("exc_message")
        args = list(args) if isinstance(args, (list, tuple)) else [args]
    else:
        return {"type": "UnexpectedResult", "message": f"the worker returned {result!r} instead of a record"}
    if name == protocol.WORKLOAD_FAILED and len(args) == 2:
        return {"type": str(args[0]), "message": str(args[1])}
    message = " ".join(str(arg) for arg in args if arg is not None)
    if name == "WorkerLostError":
        return {"type": protocol.PROCESS_DIED, "message": process_died(message)}
    return {"type": name, "message": message}


_DEATH = re.compile(r"(exitcode|signal) (-?\d+)(?: \((\w+)\))?")


def process_died(message: str) -> str:
    """Celery's "Worker exited prematurely: signal 9 (SIGKILL) Job: 3." as a sentence of ours.

    An exit code is the task's own doing (``os._exit``, ``sys.exit`` in C); a signal may
    come from anywhere (the OOM killer, a ``kill``), so it is not blamed on the task.
    """
    found = _DEATH.search(message)
    if not found:
        how = f"its worker process died ({message.strip()})"
    elif found[1] == "exitcode":
        how = f"killed its worker process (exit code {found[2]})"
    else:
        how = f"its worker process died (signal {found[2]}" + (f" {found[3]})" if found[3] else ")")
    return f"{how} on each of its {protocol.MAX_DELIVERIES} deliveries"
