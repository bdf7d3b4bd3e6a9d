"""``python -m producer``: parse and check every input before any work starts.

Settings come from flags, then the environment (only ``REDIS_URL``), then the
defaults in :mod:`producer.settings`; this is the one place that reads them.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import sys

from producer import __version__, backends, commands, exports, pythons, stops
from producer import settings as defaults
from producer.convoy import flags as convoy_flags
from producer.errors import EXIT_PIPE_CLOSED, Interrupted, PoolbenchError, UsageError
from producer.services.environ import Interpreter, inherited
from producer.settings import Output, Settings
from producer.sitepath import user_folder_last

LIMITS = {
    "size": (0, 10**10),
    "tasks": (1, 100_000),
    "concurrency": (1, 1024),
    "repeat": (1, 1000),
    "warmup": (0, 100),
    "memory_limit": (16, 2**24),
}
SECONDS = ("timeout", "worker_timeout", "startup_timeout", "max_time")
"""Float flags: each must be a finite number of seconds, above 0 and at most MAX_SECONDS."""
MAX_SECONDS = 7 * 24 * 3600.0
"""A week: beyond it, waits overflow some clocks (threading, Celery) rather than wait."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not argparse's usage block
        raise UsageError(f"{message} (try '{self.prog} --help')")


def _parser(prog: str) -> argparse.ArgumentParser:
    p = _Parser(prog=prog, description="Threads, processes, or which Celery pool? Measure it.")
    p.add_argument("--version", action="version", version=f"poolbench {__version__}")
    sub = p.add_subparsers(
        dest="command", metavar="{compare,sweep,report,diff,list,convoy}", parser_class=_Parser
    )
    sub.required = True
    _run_options(sub.add_parser("compare", help="time one workload through several backends"))
    _sweep_parser(sub)
    _saved_run_parsers(sub)
    sub.add_parser("list", help="list workloads and backends")
    convoy_flags.add_parser(sub)
    return p


def _run_options(c: argparse.ArgumentParser) -> None:
    """The options of every command that runs a measurement (compare, sweep)."""
    c.add_argument(
        "--workload", default="squares", help="built-in name, pkg.module:function or file.py:function"
    )
    c.add_argument(
        "--size",
        type=_int_or_auto,
        help="argument passed to the workload, or 'auto' to calibrate it to --call-ms "
        "(default: the workload's own; auto for your own functions)",
    )
    c.add_argument(
        "--call-ms",
        type=float,
        default=defaults.DEFAULT_CALL_MS,
        help="with --size auto, the time one call should take (default 100)",
    )
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
    c.add_argument(
        "--repeat",
        type=_int_or_auto,
        default="auto",
        help="measured rounds, or 'auto': until the comparison is decided or --max-time runs out (default)",
    )
    c.add_argument(
        "--max-time",
        type=float,
        default=defaults.DEFAULT_MAX_TIME,
        help="with --repeat auto, seconds of measured rounds at most (default 60)",
    )
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
        "if neither is set, start a private Redis and workers)",
    )
    c.add_argument(
        "--workers", default="", help="embedded worker processes per pool, e.g. prefork=3,threads=2"
    )
    c.add_argument(
        "--json", dest="json_path", metavar="FILE", help="write the result document; '-' for stdout"
    )
    c.add_argument(
        "--python",
        action="append",
        default=[],
        metavar="PATH",
        help="also run every backend under this interpreter (a free-threaded build, say); repeatable",
    )
    c.add_argument(
        "--memory-limit",
        type=int,
        metavar="MIB",
        help="MiB a local backend's processes may grow by in a batch before the run is stopped "
        "(default: half the memory available)",
    )
    exports.add_flags(c)
    c.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    c.add_argument("--wide", action="store_true", help="every column, not just those that fit 80 columns")


def _int_or_auto(text: str):
    if text == "auto":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number or 'auto', not {text!r}") from None


def _sweep_parser(sub) -> None:
    """``sweep`` takes every ``compare`` option; --concurrency and --workers become lists."""
    s = sub.add_parser(
        "sweep",
        conflict_handler="resolve",
        help="speedup and efficiency against concurrency, or against embedded Celery workers",
    )
    _run_options(s)
    s.add_argument(
        "--concurrency", default="1,2,4,8", help="comma-separated concurrencies to sweep (default 1,2,4,8)"
    )
    s.add_argument(
        "--workers",
        default="1",
        help="comma-separated numbers of embedded worker processes per Celery pool (default 1)",
    )
    s.add_argument("--tasks", type=int, help="calls per batch (default: twice the largest concurrency)")


def int_list(text: str, flag: str, low: int, high: int) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        values = []
    if not values or any(not low <= v <= high for v in values):
        raise UsageError(f"{flag} takes whole numbers from {low} to {high} separated by commas, not '{text}'")
    return sorted(set(values))


def sweep_from_args(args, environ) -> tuple[Settings, list[int], list[int]]:
    concurrencies = int_list(args.concurrency, "--concurrency", *LIMITS["concurrency"])
    workers = int_list(args.workers, "--workers", 1, 64)
    args.concurrency, args.workers = max(concurrencies), ""
    args.tasks = args.tasks if args.tasks is not None else 2 * max(concurrencies)
    return settings_from_args(args, environ), concurrencies, workers


def _saved_run_parsers(sub) -> None:
    r = sub.add_parser("report", help="re-render a saved run (compare --json FILE)")
    r.add_argument("run", metavar="RUN.json", help="a result document written by compare --json")
    exports.add_flags(r)
    r.add_argument("--wide", action="store_true", help="every column, not just those that fit 80 columns")
    d = sub.add_parser("diff", help="compare two saved runs backend by backend (Welch's t-test)")
    d.add_argument("a", metavar="A.json", help="the earlier or reference run")
    d.add_argument("b", metavar="B.json", help="the run to compare with it")
    d.add_argument("--force", action="store_true", help="compare runs of different workloads anyway")


def _check_range(name: str, value) -> None:
    low, high = LIMITS[name]
    if value is not None and value != "auto" and not low <= value <= high:
        flag = "--" + name.replace("_", "-")
        raise UsageError(f"{flag} must be between {low:,} and {high:,}, not {value:,}")


def _check_seconds(name: str, value: float) -> None:
    if not (math.isfinite(value) and 0 < value <= MAX_SECONDS):
        flag = "--" + name.replace("_", "-")
        raise UsageError(f"{flag} must be positive and finite, at most {MAX_SECONDS:,.0f} s; not {value}")


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
    if path not in (None, "-"):
        exports.check_writable("--json", path)


def settings_from_args(args, environ) -> Settings:
    for name in LIMITS:
        _check_range(name, getattr(args, name))
    for name in SECONDS:
        _check_seconds(name, getattr(args, name))
    if not 1 <= args.call_ms <= 600_000:
        raise UsageError(f"--call-ms must be between 1 and 600,000, not {args.call_ms:g}")
    names = [backends.spec(n.strip()).name for n in args.backends.split(",") if n.strip()]
    names = ["sequential"] + [n for n in dict.fromkeys(names) if n != "sequential"]
    pools = [entry.pool for entry in map(backends.spec, names) if entry.needs_broker]
    _check_json_path(args.json_path)
    broker_url = args.broker or environ.get(defaults.BROKER_ENV) or None
    if args.workers and broker_url:
        raise UsageError(
            "--workers sizes the embedded stack; with --broker or REDIS_URL, start more workers "
            "with `python -m worker --pool POOL` instead"
        )
    settings = Settings(
        workload=args.workload,
        size=None if args.size == "auto" else args.size,
        calibrate=args.size == "auto",
        call_ms=args.call_ms,
        tasks=args.tasks,
        concurrency=args.concurrency,
        backends=tuple(names),
        repeat=None if args.repeat == "auto" else args.repeat,
        max_time=args.max_time,
        warmup=args.warmup,
        start_method=args.start_method,
        timeout=args.timeout,
        worker_timeout=args.worker_timeout,
        startup_timeout=args.startup_timeout,
        broker_url=broker_url,
        broker_source=("--broker" if args.broker else defaults.BROKER_ENV) if broker_url else None,
        workers=_parse_workers(args.workers, pools),
        environ=inherited(environ),
        memory_limit=args.memory_limit,
        pythons=tuple(Interpreter.probe(path) for path in args.python),
    )
    pythons.check(settings, pythons.groups(settings))
    return settings


def output_from_args(args, environ, settings: Settings | None = None) -> Output:
    notice = None
    celery = settings is not None and any(backends.spec(name).needs_broker for name in settings.backends)
    if celery and not args.broker and environ.get(defaults.BROKER_ENV):
        from producer.services.redis import mask_url

        notice = (
            f"using running workers via ${defaults.BROKER_ENV} ({mask_url(environ[defaults.BROKER_ENV])}); "
            f"unset it to start a private Redis and workers"
        )
    return Output(
        notice=notice,
        json_path=getattr(args, "json_path", None),
        exports=exports.from_args(args),
        progress=not getattr(args, "no_progress", True) and sys.stderr.isatty(),
        wide=args.wide,
        width=shutil.get_terminal_size((80, 24)).columns if sys.stdout.isatty() else 80,
        color=sys.stdout.isatty() and "NO_COLOR" not in environ,
    )


def main(argv: list[str] | None = None, prog: str = "poolbench") -> int:
    user_folder_last()  # `module:function` resolves alike for `poolbench` and `python -m producer`
    with stops.handled():  # SIGINT, SIGTERM and SIGHUP raise Interrupted
        try:
            args = _parser(prog).parse_args(argv)
            if args.command == "list":
                return commands.list_all()
            if args.command == "convoy":
                interactive, width = sys.stderr.isatty(), shutil.get_terminal_size((80, 24)).columns
                return commands.convoy(
                    *convoy_flags.from_args(args, os.environ, interactive=interactive, width=width)
                )
            if args.command == "report":
                return commands.report_saved(args.run, output_from_args(args, os.environ))
            if args.command == "diff":
                return commands.diff(args.a, args.b, force=args.force)
            if args.command == "sweep":
                settings, concurrencies, workers = sweep_from_args(args, os.environ)
                output = output_from_args(args, os.environ, settings)
                return commands.sweep(settings, concurrencies, workers, output)
            settings = settings_from_args(args, os.environ)
            return commands.compare(settings, output_from_args(args, os.environ, settings))
        except PoolbenchError as exc:
            print(f"poolbench: error: {exc}", file=sys.stderr)
            return exc.exit_code
        except KeyboardInterrupt as exc:  # everything started has been stopped on the way here
            stops.ignored()
            signum = exc.signum if isinstance(exc, Interrupted) else 2
            _last_word(
                f"poolbench: interrupted ({stops.name(signum)}); everything it started has been stopped"
            )
            return 128 + signum
        except BrokenPipeError:  # the reader of stdout went away (`poolbench list | head -2`)
            stops.drop_output()
            return EXIT_PIPE_CLOSED


def _last_word(line: str) -> None:
    try:
        print(line, file=sys.stderr, flush=True)
    except OSError:  # stderr is a closed pipe too
        stops.drop_output()
