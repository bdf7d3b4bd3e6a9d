"""The worker's settings, read from the environment once, here and nowhere else.

``python -m worker`` lays its flags over these; the stock ``celery -A worker worker``
command line has only the environment, so every knob a container needs has an
environment variable.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from worker.cgroup import available_cpus

BROKER_ENV = "REDIS_URL"
BROKER_FILE_ENV = "REDIS_URL_FILE"
"""A file whose first line is the broker's URL (a password stays out of the environment
of every process and out of compose files); REDIS_URL wins when both are set."""
CONCURRENCY_ENV = "WORKER_CONCURRENCY"
ALLOW_ENV = "WORKLOAD_MODULES"
DEFAULT_BROKER = "redis://127.0.0.1:6379/0"
"""Broker and result backend both: one Redis, as in the compose stack."""


class WorkerConfigError(ValueError):
    """Raised for a setting the worker cannot start with; the message says which and why."""


def parse_concurrency(value: str | int, source: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if number < 1:
        raise WorkerConfigError(f"{source} must be a whole number of at least 1, not {value!r}")
    return number


def read_url_file(path: str) -> str:
    try:
        with open(path) as f:
            url = f.readline().strip()
    except OSError as exc:
        raise WorkerConfigError(f"{BROKER_FILE_ENV}={path}: cannot read it ({exc.strerror or exc})") from None
    if not url:
        raise WorkerConfigError(f"{BROKER_FILE_ENV}={path}: the file is empty; put the Redis URL in it")
    return url


def split_specs(value: str) -> tuple[str, ...]:
    return tuple(spec.strip() for spec in value.split(",") if spec.strip())


@dataclass(frozen=True)
class WorkerSettings:
    broker_url: str = DEFAULT_BROKER
    concurrency: int = field(default_factory=available_cpus)
    """Pool size when no --concurrency is given."""
    allow: tuple[str, ...] = ()
    """Workload specs this worker runs besides the built-ins."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> WorkerSettings:
        env = os.environ if environ is None else environ
        concurrency = env.get(CONCURRENCY_ENV)
        url_file = env.get(BROKER_FILE_ENV)
        return cls(
            broker_url=env.get(BROKER_ENV) or (read_url_file(url_file) if url_file else DEFAULT_BROKER),
            concurrency=parse_concurrency(concurrency, CONCURRENCY_ENV) if concurrency else available_cpus(),
            allow=split_specs(env.get(ALLOW_ENV, "")),
        )

    def replace(self, **changes) -> WorkerSettings:
        return dataclasses.replace(self, **changes)
