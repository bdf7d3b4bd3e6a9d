"""The Celery family: what a session, ``sweep`` and ``--python`` ask of Celery, in one place.

It checks what Celery backends need before any work (workers' modules in each interpreter,
running workers for a queue only compose serves, ``--workers`` naming selected pools), gives
each row its queue, and serves the rows: an embedded stack (a private Redis and a supervised
worker fleet sized by each row's own ``workers`` and ``concurrency``), or the running workers of
``--broker``. A queue name carries no data: nothing reads it back.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

from producer.backends import RUNNING_WORKERS
from producer.backends.family import Services
from producer.errors import UsageError
from producer.services import netns
from producer.services.environ import Interpreter
from producer.services.redis import mask_url
from producer.services.stack import PrivateStack
from worker.protocol import queue_for

WORKER_MODULES = ("celery", "kombu", "redis", "billiard")
"""What a Celery worker imports beyond poolbench's own packages; gevent's pool needs gevent too."""
RUNNING_WORKERS_HINT = (
    "(compose's worker-threads-ft): give --broker or REDIS_URL; embedded, use --python with a "
    "free-threaded build and celery-threads"
)


class CeleryFamily:
    name = "celery"
    title = "Celery"
    knobs = ("chunks", "prefetch", "no_result", "workers", "hosts", "link")

    def check(self, settings, specs, groups) -> None:
        embedded = settings.broker_url is None
        pools = [entry.pool for entry in specs]
        if settings.workers and not embedded:
            raise UsageError(
                "--workers sizes the embedded stack; with --broker or REDIS_URL, start more workers "
                "with `python -m worker --pool POOL` instead"
            )
        for pool in settings.workers:
            if pool not in pools:
                raise UsageError(f"--workers names pool '{pool}', but no celery-{pool} backend is selected")
        if settings.link is not None and not settings.hosts:
            raise UsageError("--link shapes the links of --hosts; add --hosts")
        if settings.hosts:
            if not embedded:
                raise UsageError(
                    "--hosts starts Redis and workers in namespaces; drop --broker/REDIS_URL or --hosts"
                )
            netns.check_available()
        if settings.prefetch is not None and not embedded:
            raise UsageError(
                "--prefetch sets the embedded workers' prefetch; with --broker or REDIS_URL, start the "
                "workers with `python -m worker --prefetch-multiplier N` instead"
            )
        for entry in specs:
            if entry.requires == RUNNING_WORKERS and embedded:
                raise UsageError(
                    f"{entry.name} reaches running workers on queue '{entry.params['queue']}' "
                    + RUNNING_WORKERS_HINT
                )
            if embedded:
                for group in groups:
                    needed = self.worker_modules(entry)
                    if missing := [m for m in needed if m in group.interpreter.missing]:
                        raise UsageError(_lacks(group, entry.pool, missing))

    def not_here(self, spec, group, settings) -> str | None:
        return None  # running workers (--broker) serve every group: their row is planned once

    def row_params(self, spec, row, settings) -> dict:
        if "queue" in spec.params or settings.broker_url is not None:
            return {}  # the registry's queue, or the pool's own on the running workers
        point = f"-c{row.concurrency}-w{row.workers}" if row.sized else ""
        return {"queue": f"{queue_for(spec.pool)}{point}{'' if row.first_group else _suffix(row.group)}"}

    def worker_modules(self, spec) -> tuple[str, ...]:
        return (*WORKER_MODULES, *(["gevent"] if spec.pool == "gevent" else []))

    @contextlib.contextmanager
    def services(self, settings, rows, allow, status) -> Iterator[Services]:
        if not rows:
            yield Services()
        elif settings.broker_url is not None:
            yield Services(settings.broker_url, {"embedded": False, "broker": mask_url(settings.broker_url)})
        else:
            plans = self.worker_plans(rows)
            if status:
                pools = list(dict.fromkeys(plan.pool for plan in plans))
                where = " in network namespaces" if settings.hosts else ""
                status(f"starting a private Redis and {', '.join(pools)} workers{where}...")
            here = Interpreter.current()

            def fleet(folder: str, prefixes: dict | None = None):
                return self.fleet(plans, allow, here, settings.environ, folder, settings.prefetch, prefixes)

            hosts = self.placement(settings, plans) if settings.hosts else None
            with PrivateStack(settings.startup_timeout, fleet, here, hosts) as embedded:
                yield Services(embedded.broker_url, {"embedded": True, **embedded.describe()})

    def worker_plans(self, rows) -> list:
        """One ``WorkerPlan`` per queue the rows use, sized by the rows themselves."""
        from producer.backends.celery.workers import WorkerPlan

        plans = {}
        for row in rows:
            entry = row.spec
            queue = row.params.get("queue") or queue_for(entry.pool)
            plans.setdefault(
                queue, WorkerPlan(entry.pool, queue, row.workers or 1, row.concurrency, row.interpreter)
            )
        return list(plans.values())

    def pool_plans(self, settings, pools: list[str]) -> list:
        """Workers for pools by name, on their own queues (an embedded stack started by hand)."""
        from producer.backends.celery.workers import WorkerPlan

        return [WorkerPlan(p, queue_for(p), settings.workers.get(p, 1), settings.concurrency) for p in pools]

    def fleet(self, plans, allow, interpreter, environ, folder, prefetch, prefixes=None):
        from producer.backends.celery.workers import WorkerFleet

        return WorkerFleet(
            plans,
            allow=allow,
            interpreter=interpreter,
            environ=environ,
            folder=folder,
            prefetch=prefetch,
            prefixes=prefixes,
        )

    @staticmethod
    def placement(settings, plans) -> netns.Placement:
        """--hosts: a host of its own for each pool's workers (its prefix reaches the fleet)."""
        pools = tuple(dict.fromkeys(plan.pool for plan in plans))
        return netns.Placement(pools, settings.link, settings.environ)

    def breakdown(self, batches, producer_host) -> dict | None:
        from producer.measure.breakdown import breakdown

        return breakdown(batches, producer_host)


def _suffix(group: str) -> str:
    """The first group's workers consume queues named by the pool; the others', queues of their own."""
    return "-" + re.sub(r"[^A-Za-z0-9.]+", "-", group).strip("-") if group else ""


def _lacks(group, pool: str, missing: list[str]) -> str:
    exe = group.interpreter.executable
    which = "this Python" if group.first else "--python"
    gevent = " gevent" if "gevent" in missing else ""
    return (
        f"{which} {exe} cannot run the embedded {pool} workers: it lacks {', '.join(missing)}; install "
        f"poolbench there (`{exe} -m pip install poolbench{gevent}`), or for a free-threaded build run "
        "scripts/build-free-threaded-python"
    )
