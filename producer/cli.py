"""``python -m producer``: parse and check every input before any work starts.

Settings come from flags, then the environment (only ``REDIS_URL``), then the
defaults in :mod:`producer.settings`; this is the one place that reads them.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys

from producer import __version__, backends, broker_source, commands
from producer import settings as defaults
from producer.errors import EXIT_INTERRUPTED, PoolbenchError, UsageError
from producer.services.environ import inherited
from producer.settings import Output, Settings
from producer.sitepath import user_folder_last

LIMITS = {
    "size": (0, 10**10),
    "tasks": (1, 100_000),
    "concurrency": (1, 1024),
    "repeat": (1, 1000),
    "warmup": (0, 100),
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not argparse's usage block
        raise UsageError(f"{message} (try '{self.prog} --help')")


def _parser(prog: str) -> argparse.ArgumentParser:
    p = _Parser(prog=prog, description="Threads, processes, or which Celery pool? Measure it.")
    p.add_argument("--version", action="version", version=f"poolbench {__version__}")
    sub = p.add_subparsers(dest="command", metavar="{compare,list}", parser_class=_Parser)
    sub.required = True
    c = sub.add_parser("compare", help="time one workload through several backends")
    c.add_argument(
        "--workload", default="squares", help="built-in name, pkg.module:function or file.py:function"
    )
    c.add_argument("--size", type=int, help="argument passed to the workload (default: the workload's own)")
    c.add_argument("--tasks", type=int, default=defaults.DEFAULT_TASKS, help="calls per batch (default 10)")
    c.add_argument(
        "--concurrency",
        type=int,
        default=defaults.DEFAULT_CONCURRENCY,
        help="threads, processes, and Celery worker concurrency (default 10)",
    )
    c.add_argument(
        "--backends",
        default=",".join(defaults.DEFAULT_BACKENDS),
        help="comma-separated; the sequential baseline always runs (see 'list')",
    )
    c.add_argument("--repeat", type=int, default=defaults.DEFAULT_REPEAT, help="measured rounds (default 5)")
    c.add_argument("--warmup", type=int, default=defaults.DEFAULT_WARMUP, help="uncounted rounds (default 1)")
    c.add_argument(
        "--start-method",
        choices=["fork", "spawn", "forkserver"],
        help="multiprocessing start method (default: the platform's)",
    )
    c.add_argument(
        "--timeout",
        type=float,
        default=defaults.DEFAULT_TIMEOUT,
        help="seconds one batch may take (default 300)",
    )
    c.add_argument(
        "--worker-timeout",
        type=float,
        default=defaults.DEFAULT_WORKER_TIMEOUT,
        help="seconds to wait for a worker on each Celery queue (default 10)",
    )
    c.add_argument(
        "--startup-timeout",
        type=float,
        default=defaults.DEFAULT_STARTUP_TIMEOUT,
        help="seconds the embedded Redis and workers may take to start (default 60)",
    )
    c.add_argument(
        "--broker",
        help=f"Redis URL of running workers (default: ${defaults.BROKER_ENV}; "
        "if neither is set, start a private Redis and workers); a password here shows in ps: "
        "prefer --broker-env or --broker-file",
    )
    c.add_argument("--broker-env", metavar="VAR", help="read the broker's URL from environment variable VAR")
    c.add_argument("--broker-file", metavar="PATH", help="read the broker's URL from the first line of PATH")
    c.add_argument(
        "--workers", default="", help="embedded worker processes per pool, e.g. prefork=3,threads=2"
    )
    c.add_argument(
        "--json", dest="json_path", metavar="FILE", help="write the result document; '-' for stdout"
    )
    c.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    c.add_argument("--wide", action="store_true", help="every column, not just those that fit 80 columns")
    sub.add_parser("list", help="list workloads and backends")
    return p


def _check_range(name: str, value) -> None:
    low, high = LIMITS[name]
    if value is not None and not low <= value <= high:
        raise UsageError(f"--{name} must be between {low:,} and {high:,}, not {value:,}")


def _parse_workers(text: str, celery_pools: list[str]) -> dict[str, int]:
    workers = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        pool, sep, count = item.partition("=")
        if not sep or not count.isdigit() or not 1 <= int(count) <= 64:
            raise UsageError(f"--workers takes pool=count with count 1 to 64, e.g. prefork=3; not '{item}'")
        if pool not in celery_pools:
            raise UsageError(f"--workers names pool '{pool}', but no celery-{pool} backend is selected")
        workers[pool] = int(count)
    return workers


def _check_json_path(path: str | None) -> None:
    if path in (None, "-"):
        return
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path) or not os.path.isdir(folder) or not os.access(folder, os.W_OK):
        raise UsageError(f"cannot write --json file '{path}': its folder does not exist or is not writable")
    if os.path.exists(path) and not os.access(path, os.W_OK):
        raise UsageError(f"cannot write --json file '{path}': permission denied")


def settings_from_args(args, environ) -> Settings:
    for name in LIMITS:
        _check_range(name, getattr(args, name))
    if min(args.timeout, args.worker_timeout, args.startup_timeout) <= 0:
        raise UsageError("--timeout, --worker-timeout and --startup-timeout must be positive")
    names = [backends.spec(n.strip()).name for n in args.backends.split(",") if n.strip()]
    names = ["sequential"] + [n for n in dict.fromkeys(names) if n != "sequential"]
    pools = [entry.pool for entry in map(backends.spec, names) if entry.needs_broker]
    _check_json_path(args.json_path)
    broker_url = broker_source.resolve(
        args.broker, args.broker_env, args.broker_file, environ, defaults.BROKER_ENV
    )
    if args.workers and broker_url:
        raise UsageError(
            "--workers sizes the embedded stack; with --broker or REDIS_URL, start more workers "
            "with `python -m worker --pool POOL` instead"
        )
    return Settings(
        workload=args.workload,
        size=args.size,
        tasks=args.tasks,
        concurrency=args.concurrency,
        backends=tuple(names),
        repeat=args.repeat,
        warmup=args.warmup,
        start_method=args.start_method,
        timeout=args.timeout,
        worker_timeout=args.worker_timeout,
        startup_timeout=args.startup_timeout,
        broker_url=broker_url,
        workers=_parse_workers(args.workers, pools),
        environ=inherited(environ),
    )


def output_from_args(args, environ) -> Output:
    return Output(
        json_path=args.json_path,
        progress=not args.no_progress and sys.stderr.isatty(),
        wide=args.wide,
        width=shutil.get_terminal_size((80, 24)).columns if sys.stdout.isatty() else 80,
        color=sys.stdout.isatty() and "NO_COLOR" not in environ,
    )


def main(argv: list[str] | None = None, prog: str = "poolbench") -> int:
    user_folder_last()  # `module:function` resolves alike for `poolbench` and `python -m producer`
    try:
        args = _parser(prog).parse_args(argv)
        if args.command == "list":
            return commands.list_all()
        return commands.compare(settings_from_args(args, os.environ), output_from_args(args, os.environ))
    except PoolbenchError as exc:
        print(f"poolbench: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("poolbench: interrupted; everything it started has been stopped", file=sys.stderr)
        return EXIT_INTERRUPTED
