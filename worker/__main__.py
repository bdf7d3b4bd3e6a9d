"""``python -m worker``: start a Celery worker for one pool, named so replicas never clash.

The pool is chosen here, on the command line, and the worker consumes the queue named
after it, so the producer's ``celery-threads`` backend reaches threads workers only.
Nothing heavy is imported before the arguments are checked: a bad flag costs no
Celery import, and gevent can monkey-patch before anything else loads.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import socket
import sys

from worker.protocol import POOLS, PREFETCH_MULTIPLIER, node_name, queue_for, slots

LOGLEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
EXIT_USAGE = 2
PROG = "python -m worker"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):
        """One line on stderr and exit 2, like every other usage error of poolbench."""
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {value!r}")
    return number


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = _Parser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument("--pool", required=True, choices=POOLS, help="Celery execution pool")
    parser.add_argument(
        "--concurrency", type=_positive, help="pool size (default: $WORKER_CONCURRENCY, else CPUs available)"
    )
    parser.add_argument(
        "--prefetch-multiplier",
        type=_positive,
        help=f"messages reserved per pool slot (default {PREFETCH_MULTIPLIER}: none hoarded)",
    )
    parser.add_argument("--queue", help="queue to consume (default: the pool's name)")
    parser.add_argument(
        "--hostname", help="node name (default: POOL-<8 hex>@<host name>, unique per replica)"
    )
    parser.add_argument(
        "--allow",
        action="append",
        default=[],
        metavar="SPEC",
        help="also run this workload (module:function or file.py:function); repeatable; "
        "adds to $WORKLOAD_MODULES",
    )
    parser.add_argument("--nodename-file", metavar="PATH", help="write the node name here once ready")
    parser.add_argument(
        "--loglevel", default="WARNING", type=str.upper, choices=LOGLEVELS, help="default: WARNING"
    )
    return parser.parse_args(argv)


def _fail(message: str) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def _patch_gevent() -> str | None:
    """Monkey-patch for gevent before Celery loads; an error message if gevent is missing."""
    try:
        import gevent  # noqa: F401
    except ImportError:
        return "the gevent pool needs gevent: pip install 'poolbench[gevent]'"
    from celery import maybe_patch_concurrency

    maybe_patch_concurrency(["-P", "gevent"])
    return None


def _on_ready(nodename_file: str | None, summary: str):
    """Announce readiness on stderr and, if asked, in a file (written whole, then renamed).

    ``sys.__stderr__``: by then Celery has redirected ``sys.stderr`` into its logger.
    """

    def ready(sender, **_):
        if nodename_file:
            tmp = f"{nodename_file}.tmp"
            with open(tmp, "w") as f:
                f.write(f"{sender.hostname}\n")
            os.replace(tmp, nodename_file)
        print(f"worker {sender.hostname} ready: {summary}", file=sys.__stderr__, flush=True)

    return ready


def main(argv: list[str] | None = None) -> int:
    from workloads import gil

    gil.watch()  # before any import that could turn a free-threaded build's GIL back on
    args = parse_args(argv)
    if args.pool == "gevent" and (problem := _patch_gevent()):
        return _fail(problem)

    import workloads
    from worker.settings import WorkerConfigError

    try:
        from worker import tasks
        from worker.app import app, settings
    except WorkerConfigError as exc:
        return _fail(str(exc))
    try:
        for spec in (*settings.allow, *args.allow):
            workloads.resolve(spec)  # fail now, not on the first task; children inherit the import
    except workloads.WorkloadError as exc:
        return _fail(f"--allow/WORKLOAD_MODULES: {exc}")
    tasks.allow(args.allow)

    concurrency = args.concurrency or settings.concurrency
    from worker.app import broker_options

    app.conf.broker_transport_options = broker_options(slots(args.pool, concurrency))
    queue = args.queue or queue_for(args.pool)
    hostname = args.hostname or node_name(args.pool, secrets.token_hex(4), socket.gethostname())
    from celery import signals

    prefetch = args.prefetch_multiplier or PREFETCH_MULTIPLIER
    summary = (
        f"pool {args.pool}, concurrency {slots(args.pool, concurrency)}, queue {queue}, prefetch x{prefetch}"
    )
    signals.worker_ready.connect(_on_ready(args.nodename_file, summary), weak=False)
    verbose = logging.getLevelName(args.loglevel) <= logging.INFO
    argv = [
        *([] if verbose else ["--quiet"]),
        "worker",
        f"--pool={args.pool}",
        f"--concurrency={concurrency}",
        f"--queues={queue}",
        *([f"--prefetch-multiplier={args.prefetch_multiplier}"] if args.prefetch_multiplier else []),
        f"--hostname={hostname}",
        f"--loglevel={args.loglevel}",
        "--without-mingle",
        "--without-gossip",
        "--without-heartbeat",
    ]
    return app.start(argv=argv) or 0


if __name__ == "__main__":
    sys.exit(main())
