"""Hosts on one machine (``--hosts``): Redis and each worker fleet in a network namespace
of its own, joined to the producer by veth links, with the link's round trip (``--link``).

The namespaces hang on one bridge in the producer's namespace, in a /24 of
:data:`RANGE` that no interface of the machine uses yet: the bridge is ``.1`` (the
producer), Redis's host ``.2``, the worker hosts ``.3`` on. Traffic between them crosses
real veth pairs and a real bridge, never loopback. Every name carries the owning run's
process id and a serial (``pb<pid>-0-redis``, ``pb<pid>-0-w1``, bridge ``pb<pid>b0``, links
``pb<pid>v0n<n>``)
so that the next run removes what a killed one left (:func:`remove_abandoned`), as
:mod:`producer.services.folders` does for folders.

The round trip: this kernel has no ``netem``, so a relay (:mod:`producer.services.relay`)
runs in Redis's namespace, in front of Redis: every client (the producer, each worker)
reaches Redis through it and meets the link's round trip, half each way. The producer and
the workers talk to each other only through Redis, so this is every path that carries
a message. The method and the shape are recorded (:meth:`Hosts.describe`).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field

import psutil

from producer.errors import StackError, UsageError
from producer.services.process import Child
from producer.services.relay import LinkShape

RANGE = "10.213"
"""The project's addresses: 10.213.N.0/24, used only inside the namespaces it creates."""
REDIS_PORT = 6379
"""Where clients reach Redis's host (the relay with --link, Redis itself without)."""
HIDDEN_REDIS_PORT = 6380
"""Where Redis itself listens behind the relay."""
_OWNED = re.compile(r"^pb(\d+)(?:-\d+-|b\d+$|[vp]\d+n\d+$)")
_SERIAL = itertools.count()
"""Several runs' stacks may live in one process (a benchmark): each gets its own names."""
_IP_TIMEOUT = 30


def check_available() -> None:
    """Raise UsageError (exit 2) unless namespaces can be made here: root and iproute2."""
    if shutil.which("ip") is None:
        raise UsageError("--hosts needs iproute2's `ip` command (apt-get install iproute2); drop --hosts")
    if os.geteuid() != 0:
        raise UsageError("--hosts needs root to create network namespaces and veth links; drop --hosts")


def ip(*args: str, netns: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    argv = ["ip", *(["netns", "exec", netns, "ip"] if netns else []), *args]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=_IP_TIMEOUT)
    if check and proc.returncode:
        raise StackError(f"`{' '.join(argv)}` failed: {proc.stderr.strip() or proc.returncode}")
    return proc


def _owner_alive(pid: int) -> bool:
    return psutil.pid_exists(pid)


def owned_names() -> dict[str, list[str]]:
    """Every namespace and link whose name says a poolbench run made it."""
    namespaces = [line.split()[0] for line in ip("netns", "list", check=False).stdout.splitlines() if line]
    links = [
        line.split(":")[1].strip().split("@")[0]
        for line in ip("-o", "link", "show", check=False).stdout.splitlines()
        if line.count(":") >= 2
    ]
    return {
        "namespaces": [n for n in namespaces if _OWNED.match(n)],
        "links": [n for n in links if _OWNED.match(n)],
    }


def remove_abandoned() -> list[str]:
    """Remove the namespaces and links of runs that no longer exist; return their names."""
    removed = []
    names = owned_names()
    for kind in ("namespaces", "links"):
        for name in names[kind]:
            if _owner_alive(int(_OWNED.match(name).group(1))):
                continue
            if kind == "namespaces":
                ip("netns", "del", name, check=False)
            else:
                ip("link", "del", name, check=False)
            removed.append(name)
    return removed


def _free_octet() -> int:
    used = ip("-4", "-o", "addr").stdout
    for octet in range(1, 255):
        if f" {RANGE}.{octet}." not in used:
            return octet
    raise StackError(f"no free {RANGE}.N.0/24 for --hosts: every one is in use on this machine")


@dataclass(frozen=True)
class Placement:
    """Where a private stack's parts run (``--hosts``): Redis on a host of its own, and one host
    for each name in ``hosts`` (a family names them, e.g. one per worker pool)."""

    hosts: tuple[str, ...]
    link: LinkShape | None = None
    """Every link's shape (``--link``); None: the veth links as they are."""
    environ: dict[str, str] = field(default_factory=dict)
    """The run's explicit environment, for the relay's process."""


class Hosts:
    """The namespaces of one run: Redis's host and one host per worker fleet (pool)."""

    def __init__(self, pools: list[str], shape: LinkShape | None, folder: str, environ: dict[str, str]):
        self.pools = list(dict.fromkeys(pools))
        self.shape = shape
        self.folder = folder
        self.environ = environ
        self.owner = os.getpid()
        self.serial = next(_SERIAL)
        self.tag = f"pb{self.owner}"
        self.octet: int | None = None
        self.namespaces: dict[str, str] = {}
        """Host -> namespace: ``redis`` and each pool."""
        self.addresses: dict[str, str] = {}
        self.bridge = f"{self.tag}b{self.serial}"
        self.relay: Child | None = None

    def start(self) -> None:
        remove_abandoned()
        self.octet = _free_octet()
        ip("link", "add", self.bridge, "type", "bridge")
        ip("addr", "add", f"{self.address(1)}/24", "dev", self.bridge)
        ip("link", "set", self.bridge, "up")
        for number, host in enumerate(["redis", *self.pools], start=2):
            self._add_host(host, number)

    def address(self, last: int) -> str:
        return f"{RANGE}.{self.octet}.{last}"

    def _add_host(self, host: str, number: int) -> None:
        namespace = f"{self.tag}-{self.serial}-{'redis' if host == 'redis' else f'w{number - 2}'}"
        ours, theirs = self._link_name("v", number), self._link_name("p", number)
        ip("netns", "add", namespace)
        self.namespaces[host] = namespace
        ip("link", "add", ours, "type", "veth", "peer", "name", theirs)
        ip("link", "set", theirs, "netns", namespace)
        ip("link", "set", ours, "master", self.bridge)
        ip("link", "set", ours, "up")
        ip("link", "set", theirs, "name", "eth0", netns=namespace)
        ip("addr", "add", f"{self.address(number)}/24", "dev", "eth0", netns=namespace)
        ip("link", "set", "eth0", "up", netns=namespace)
        ip("link", "set", "lo", "up", netns=namespace)
        self.addresses[host] = self.address(number)

    def prefix(self, host: str) -> list[str]:
        """argv to put in front of a command that must run on ``host``."""
        return ["ip", "netns", "exec", self.namespaces[host]]

    def redis_options(self) -> dict:
        """Where RedisServer runs and listens on Redis's host."""
        return {"port": self.redis_port, "bind": self.addresses["redis"], "prefix": self.prefix("redis")}

    def prefixes(self) -> dict[str, list[str]]:
        """Pool -> the prefix of its workers' command."""
        return {pool: self.prefix(pool) for pool in self.pools}

    def link_of(self, host: str) -> str:
        """The producer-side end of ``host``'s veth link (``ip link set ... down`` cuts it)."""
        return self._link_name("v", list(self.namespaces).index(host) + 2)

    def _link_name(self, side: str, number: int) -> str:
        return f"{self.tag}{side}{self.serial}n{number}"

    @property
    def redis_port(self) -> int:
        return HIDDEN_REDIS_PORT if self.shape else REDIS_PORT

    def broker_url(self, direct_url: str, deadline: float) -> str:
        """The URL every client uses: through the relay with --link, else Redis's own."""
        if not self.shape:
            return direct_url
        ready = os.path.join(self.folder, "relay.ready")
        redis_host = self.addresses["redis"]
        argv = [*self.prefix("redis"), sys.executable, "-m", "producer.services.relay"]
        argv += ["--listen", f"{redis_host}:{REDIS_PORT}", "--to", f"{redis_host}:{HIDDEN_REDIS_PORT}"]
        argv += ["--link", f"rtt={self.shape.rtt_s * 1e3:g}ms,jitter={self.shape.jitter_s * 1e3:g}ms"]
        argv += ["--ready-file", ready]
        from producer.services.environ import child_environ

        self.relay = Child("relay", argv, child_environ(self.environ, {}), self.folder)
        while not os.path.exists(ready):
            if not self.relay.running:
                raise StackError(f"the link relay exited: {self.relay.tail() or 'no output'}")
            if time.monotonic() > deadline:
                raise StackError(f"the link relay did not listen in time: {self.relay.tail() or 'no output'}")
            time.sleep(0.01)
        return direct_url.replace(f":{HIDDEN_REDIS_PORT}/", f":{REDIS_PORT}/")

    def describe(self) -> dict:
        return {
            "hosts": {
                host: {"namespace": ns, "address": self.addresses.get(host)}
                for host, ns in self.namespaces.items()
            },
            "producer_address": self.address(1) if self.octet else None,
            "range": f"{RANGE}.{self.octet}.0/24" if self.octet else None,
            "method": "relay" if self.shape else "none",
            "where": "in front of Redis, in its host's namespace: every client's path to Redis"
            if self.shape
            else None,
            "shape": self.shape.as_dict() if self.shape else {"rtt_ms": 0.0, "jitter_ms": 0.0},
        }

    def close(self) -> None:
        """Stop the relay, remove every namespace and the bridge; safe to call twice."""
        if self.relay is not None:
            self.relay.signal(15)
            self.relay.finish(5.0)
            self.relay = None
        for namespace in self.namespaces.values():
            ip("netns", "del", namespace, check=False)  # its eth0 goes, and the peer with it
        self.namespaces = {}
        ip("link", "del", self.bridge, check=False)
        with contextlib.suppress(Exception):
            for name in owned_names()["links"]:
                if name.startswith(f"{self.tag}v{self.serial}n"):
                    ip("link", "del", name, check=False)
