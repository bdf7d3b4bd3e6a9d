"""``python -m producer``: parse and check every input before any work starts.

Settings come from flags, then the environment (only ``REDIS_URL``), then the
defaults in :mod:`producer.settings`; this is the one place that reads them.
"""

from __future__ import annotations

import math
import os
import shutil
import sys

from producer import backends, broker_source, commands, exports, options, pythons, stops
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


def _check_costs(args, pools: list[str], broker_url: str | None) -> None:
    if not 1 <= args.chunks <= args.tasks:
        raise UsageError(f"--chunks must be between 1 and --tasks ({args.tasks}), not {args.chunks}")
    if args.prefetch is not None and not 1 <= args.prefetch <= 1000:
        raise UsageError(f"--prefetch must be between 1 and 1,000, not {args.prefetch}")
    flags = [
        f
        for f, on in (
            ("--chunks", args.chunks > 1),
            ("--prefetch", args.prefetch),
            ("--no-result", args.no_result),
        )
        if on
    ]
    if flags and not pools:
        raise UsageError(f"{', '.join(flags)} apply to Celery backends, and none is selected")
    if args.prefetch is not None and broker_url:
        raise UsageError(
            "--prefetch sets the embedded workers' prefetch; with --broker or REDIS_URL, start the "
            "workers with `python -m worker --prefetch-multiplier N` instead"
        )


def _check_hosts(args, pools: list[str], broker_url: str | None):
    """--hosts and --link: the link's shape, or None; UsageError before any work."""
    if args.link is not None and not args.hosts:
        raise UsageError("--link shapes the links of --hosts; add --hosts")
    if not args.hosts:
        return None
    if broker_url:
        raise UsageError("--hosts starts Redis and workers in namespaces; drop --broker/REDIS_URL or --hosts")
    if not pools:
        raise UsageError("--hosts places Celery workers; add a celery-* backend to --backends")
    from producer.services import netns
    from producer.services.relay import LinkShape

    try:
        link = LinkShape.parse(args.link) if args.link else None
    except ValueError as exc:
        raise UsageError(f"--link: {exc}") from None
    netns.check_available()
    return link


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
    broker_url, source = broker_source.resolve(
        args.broker, args.broker_env, args.broker_file, environ, defaults.BROKER_ENV
    )
    if args.workers and broker_url:
        raise UsageError(
            "--workers sizes the embedded stack; with --broker or REDIS_URL, start more workers "
            "with `python -m worker --pool POOL` instead"
        )
    _check_costs(args, pools, broker_url)
    link = _check_hosts(args, pools, broker_url)
    settings = Settings(
        hosts=args.hosts,
        link=link,
        chunks=args.chunks,
        prefetch=args.prefetch,
        no_result=args.no_result,
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
        broker_source=source,
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
    if celery and settings.broker_source == defaults.BROKER_ENV:
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
            args = options.parser(prog).parse_args(argv)
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
            if args.command == "sweep" and args.link_rtt:
                from producer import link_sweep

                settings, rtts = link_sweep.from_args(args, os.environ)
                output = output_from_args(args, os.environ, settings)
                return commands._measure(lambda **shown: link_sweep.run(settings, rtts, **shown), output)
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
