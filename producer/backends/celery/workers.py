"""The embedded worker fleet: ``python -m worker`` processes for each Celery pool.

Every worker starts now and they are waited for together, so their start-ups overlap.
Ready means the worker wrote its node name file (``worker_ready``) and then answered a
ping. Each runs under the chosen interpreter with an explicit environment
(:mod:`producer.services.environ`), never with the user's folder in front of its path.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import time
from dataclasses import dataclass

from producer.backends.celery.app import APPS, BROKER_ERRORS
from producer.errors import StackError
from producer.services.environ import Interpreter, child_environ
from producer.services.process import Child
from worker.protocol import node_name, slots

STOP_TIMEOUT = 10.0
"""Seconds a worker's warm shutdown may take before its process group is killed."""
_POLL_S = 0.01


@dataclass(frozen=True)
class WorkerPlan:
    """``count`` workers of one pool, each with ``concurrency`` slots, consuming ``queue``,
    under ``interpreter`` (None: the fleet's)."""

    pool: str
    queue: str
    count: int
    concurrency: int
    interpreter: Interpreter | None = None


@dataclass
class EmbeddedWorker:
    pool: str
    node: str
    node_file: str
    """Written by the worker once it consumes (``python -m worker --nodename-file``)."""
    child: Child
    plan: WorkerPlan | None = None


class WorkerFleet:
    """``counts[pool]`` workers per pool (default 1), each with ``concurrency`` slots."""

    def __init__(
        self,
        plans: list[WorkerPlan],
        *,
        allow: list[str],
        interpreter: Interpreter,
        environ: dict[str, str],
        folder: str,
        prefetch: int | None = None,
    ):
        self.plans = plans
        self.allow = list(allow)
        self.interpreter = interpreter
        self.environ = environ
        self.folder = folder
        self.prefetch = prefetch
        """``--prefetch-multiplier`` of every worker; None: the worker's default."""
        self.workers: list[EmbeddedWorker] = []

    def start(self, broker_url: str) -> None:
        env = child_environ(self.environ, {"REDIS_URL": broker_url})
        allow = [flag for spec in self.allow for flag in ("--allow", spec)]
        for plan in self.plans:
            for number in range(1, plan.count + 1):
                name = f"{plan.queue}-{number}"
                node = node_name(plan.queue, secrets.token_hex(4), socket.gethostname())
                node_file = os.path.join(self.folder, f"{name}.node")
                python = plan.interpreter or self.interpreter
                argv = [*python.module_argv("worker"), "--pool", plan.pool, "--hostname", node]
                argv += ["--queue", plan.queue, "--concurrency", str(plan.concurrency), *allow]
                argv += ["--nodename-file", node_file]
                if self.prefetch is not None:
                    argv += ["--prefetch-multiplier", str(self.prefetch)]
                worker = EmbeddedWorker(plan.pool, node, node_file, Child(name, argv, env, self.folder))
                worker.plan = plan
                self.workers.append(worker)

    def wait_ready(self, broker_url: str, deadline: float, timeout: float) -> None:
        waiting = list(self.workers)
        while waiting:
            for worker in list(waiting):
                if os.path.exists(worker.node_file):
                    waiting.remove(worker)
                elif not worker.child.running:
                    child = worker.child
                    raise StackError(
                        f"worker {child.name} ({worker.node}) exited with code {child.proc.returncode}: "
                        f"{child.tail() or 'no output'}"
                    )
            if waiting and time.monotonic() > deadline:
                self._not_ready(waiting, timeout)
            time.sleep(_POLL_S if waiting else 0)
        app = APPS.acquire(broker_url)
        try:
            nodes = [worker.node for worker in self.workers]
            while True:
                window = max(0.1, min(1.0, deadline - time.monotonic()))
                replies = app.control.ping(destination=nodes, limit=len(nodes), timeout=window) or []
                nodes = [node for node in nodes if not any(node in reply for reply in replies)]
                if not nodes:
                    return
                if time.monotonic() > deadline:
                    self._not_ready([worker for worker in self.workers if worker.node in nodes], timeout)
        except BROKER_ERRORS as exc:
            raise StackError(f"the embedded Redis failed while the workers started: {exc}") from None
        finally:
            APPS.release(broker_url)

    @staticmethod
    def _not_ready(waiting: list[EmbeddedWorker], timeout: float) -> None:
        child = waiting[0].child
        raise StackError(
            f"worker {child.name} ({waiting[0].node}) did not answer a ping within "
            f"{timeout:g} s (--startup-timeout): {child.tail() or 'no output'}"
        )

    def describe(self) -> dict:
        fleet: dict[str, list] = {}
        for worker in self.workers:
            fleet.setdefault(worker.pool, []).append(
                {
                    "node": worker.node,
                    "pid": worker.child.pid,
                    "queue": worker.plan.queue,
                    "concurrency": slots(worker.pool, worker.plan.concurrency),
                    "argv": worker.child.argv,
                }
            )
        return fleet

    def stop(self) -> None:
        """Warm shutdown (SIGTERM), then SIGKILL of each group after STOP_TIMEOUT."""
        children = [worker.child for worker in self.workers if worker.child.proc.returncode is None]
        for child in children:
            child.signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        for child in children:
            child.finish(deadline - time.monotonic())

    def kill(self) -> None:
        for worker in self.workers:
            worker.child.finish(0)
