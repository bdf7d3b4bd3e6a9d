"""The embedded worker fleet: ``python -m worker`` processes for each Celery pool.

Every worker starts now and they are waited for together, so their start-ups overlap.
Ready means the worker wrote its node name file (``worker_ready``) and then answered a
ping. Each runs under the chosen interpreter with an explicit environment
(:mod:`producer.services.environ`), never with the user's folder in front of its path;
the broker's URL, password included, reaches it in that environment, never in argv.

Once ready, the fleet is supervised, as a process manager would: a worker that dies
(killed, or taken down by a task) is replaced at once, at most MAX_RESTARTS times per
queue, and the replacement gets the dead worker's tasks when kombu's visibility timeout
gives them back. Every death is recorded with its exit code or signal.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import threading
import time
from dataclasses import dataclass

from producer.backends.celery.app import APPS, BROKER_ERRORS
from producer.errors import StackError
from producer.services.environ import Interpreter, child_environ
from producer.services.process import Child
from worker.protocol import node_name, slots

STOP_TIMEOUT = 10.0
"""Seconds a worker's warm shutdown may take before its process group is killed."""
MAX_RESTARTS = 5
"""Replacements per queue and run: a task that kills every worker cannot loop forever."""
SUPERVISE_S = 0.2
_POLL_S = 0.01


def exit_text(returncode: int | None) -> str:
    """``exit code 1`` or ``signal 9 (SIGKILL)``, as the kernel reported the death."""
    if returncode is None:
        return "still running"
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = "?"
        return f"signal {-returncode} ({name})"
    return f"exit code {returncode}"


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
    replaced: bool = False


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
        prefixes: dict[str, list[str]] | None = None,
    ):
        self.plans = plans
        self.allow = list(allow)
        self.interpreter = interpreter
        self.environ = environ
        self.folder = folder
        self.prefetch = prefetch
        """``--prefetch-multiplier`` of every worker; None: the worker's default."""
        self.prefixes = prefixes or {}
        """Pool -> argv in front of its workers' (``ip netns exec NS``: another host, --hosts)."""
        self.workers: list[EmbeddedWorker] = []
        self.deaths: list[dict] = []
        """Each worker that died while supervised: pool, node, how, and its replacement."""
        self._env: dict[str, str] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._stopped = threading.Event()
        self._supervisor: threading.Thread | None = None

    def start(self, broker_url: str) -> None:
        self._env = child_environ(self.environ, {"REDIS_URL": broker_url})
        for plan in self.plans:
            for number in range(1, plan.count + 1):
                self.workers.append(self._spawn(plan, f"{plan.queue}-{number}"))

    def _spawn(self, plan: WorkerPlan, name: str) -> EmbeddedWorker:
        node = node_name(plan.queue, secrets.token_hex(4), socket.gethostname())
        node_file = os.path.join(self.folder, f"{name}.node")
        allow = [flag for spec in self.allow for flag in ("--allow", spec)]
        python = plan.interpreter or self.interpreter
        argv = [*self.prefixes.get(plan.pool, []), *python.module_argv("worker"), "--pool", plan.pool]
        argv += ["--hostname", node]
        argv += ["--queue", plan.queue, "--concurrency", str(plan.concurrency), *allow]
        argv += ["--nodename-file", node_file]
        if self.prefetch is not None:
            argv += ["--prefetch-multiplier", str(self.prefetch)]
        child = Child(name, argv, self._env, self.folder)
        return EmbeddedWorker(plan.pool, node, node_file, child, plan=plan)

    def supervise(self) -> None:
        """Replace workers that die from now on (a thread that lives until ``stop``).

        The kernel signals a child when the *thread* that started it ends
        (``PR_SET_PDEATHSIG``): replacements are started by this thread, which ends
        only once ``stop`` has stopped them.
        """
        self._supervisor = threading.Thread(target=self._watch, name="poolbench-fleet", daemon=True)
        self._supervisor.start()

    def _watch(self) -> None:
        while not self._stopping.wait(SUPERVISE_S):
            with self._lock:
                if self._stopping.is_set():
                    return
                for worker in list(self.workers):
                    if not worker.replaced and not worker.child.running:
                        self._replace(worker)
        # stop() holds the replacements' lifetime: wait here until it has stopped them
        self._stopped.wait()

    def _replace(self, worker: EmbeddedWorker) -> None:
        worker.replaced = True
        queue = worker.plan.queue
        death = {"queue": queue, "node": worker.node, "how": exit_text(worker.child.proc.returncode)}
        if sum(1 for d in self.deaths if d["queue"] == queue) >= MAX_RESTARTS:
            death["replaced_by"] = None
        else:
            number = sum(1 for w in self.workers if w.plan.queue == queue) + 1
            replacement = self._spawn(worker.plan, f"{queue}-{number}")
            self.workers.append(replacement)
            death["replaced_by"] = replacement.node
        self.deaths.append(death)

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
                    self.supervise()
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
                    **({"died": exit_text(worker.child.proc.returncode)} if worker.replaced else {}),
                }
            )
        return fleet

    def _end_supervision(self) -> list[EmbeddedWorker]:
        """No more replacements; every worker ever started, to stop."""
        self._stopping.set()
        with self._lock:
            return list(self.workers)

    def stop(self) -> None:
        """Warm shutdown (SIGTERM), then SIGKILL of each group after STOP_TIMEOUT."""
        workers = self._end_supervision()
        try:
            children = [worker.child for worker in workers if worker.child.proc.returncode is None]
            for child in children:
                child.signal(signal.SIGTERM)
            deadline = time.monotonic() + STOP_TIMEOUT
            for child in children:
                child.finish(deadline - time.monotonic())
        finally:
            self._join_supervisor()

    def kill(self) -> None:
        for worker in self._end_supervision():
            worker.child.finish(0)
        self._join_supervisor()

    def _join_supervisor(self) -> None:
        self._stopped.set()
        if self._supervisor is not None:
            self._supervisor.join(timeout=STOP_TIMEOUT)
