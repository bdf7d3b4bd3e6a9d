"""``python -m producer``: parse and check every input before any work starts.

Settings come from flags, then the environment (only ``REDIS_URL``), then the
defaults in :mod:`producer.settings`; this is the one place that reads them.
"""

from __future__ import annotations

import os
import shutil
import sys

from producer import backends, broker_source, commands, exports, options, plan, stops
from producer import settings as defaults
from producer.convoy import command as convoy_command
from producer.convoy import flags as convoy_flags
from producer.errors import EXIT_PIPE_CLOSED, Interrupted, PoolbenchError, UsageError
from producer.services.environ import Interpreter, inherited
from producer.settings import Output, Settings
from producer.sitepath import user_folder_last
from producer.traffic import command as traffic_command

LIMITS = defaults.LIMITS
MAX_SECONDS = defaults.MAX_SECONDS


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


def link_sweep_from_args(args, environ) -> tuple[Settings, list[float]]:
    """``sweep --link-rtt``: the settings (as ``compare --hosts``, one concurrency), its round trips."""
    from producer import link_sweep

    rtts = link_sweep.parse_rtts(args.link_rtt)
    concurrencies = int_list(args.concurrency, "--concurrency", *LIMITS["concurrency"])
    link_sweep.check(plan.backend_names(args.backends.split(",")), concurrencies, args.workers)
    args.concurrency, args.workers, args.hosts = concurrencies[0], "", True
    args.tasks = args.tasks if args.tasks is not None else 2 * concurrencies[0]
    return settings_from_args(args, environ), rtts


def _parse_workers(text: str) -> dict[str, int]:
    """``prefork=3,threads=2``; its counts and pools are checked with the rest (Settings.check)."""
    workers = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        pool, sep, count = item.partition("=")
        if not sep or not count.isdigit():
            raise UsageError(
                f"--workers takes pool=count with count 1 to {defaults.MAX_WORKERS}, e.g. prefork=3; "
                f"not '{item}'"
            )
        workers[pool] = int(count)
    return workers


def _parse_link(args):
    """``--link rtt=2ms,jitter=0.2ms`` -> its LinkShape (checked against --hosts by Settings.check)."""
    if getattr(args, "link", None) is None:
        return None
    from producer.services.relay import LinkShape

    try:
        return LinkShape.parse(args.link)
    except ValueError as exc:
        raise UsageError(f"--link: {exc}") from None


def _check_json_path(path: str | None) -> None:
    if path not in (None, "-"):
        exports.check_writable("--json", path)


def settings_from_args(args, environ) -> Settings:
    """The run's Settings from the flags and the environment, checked (:meth:`Settings.check`)."""
    names = plan.backend_names(args.backends.split(","))
    _check_json_path(args.json_path)
    broker_url, source = broker_source.resolve(
        args.broker, args.broker_env, args.broker_file, environ, defaults.BROKER_ENV
    )
    settings = Settings(
        hosts=getattr(args, "hosts", False),
        link=_parse_link(args),
        chunks=args.chunks,
        prefetch=args.prefetch,
        no_result=args.no_result,
        workload=args.workload,
        size=None if args.size == "auto" else args.size,
        calibrate=args.size == "auto",
        call_ms=args.call_ms,
        tasks=args.tasks,
        concurrency=args.concurrency,
        backends=names,
        repeat=None if args.repeat == "auto" else args.repeat,
        max_time=args.max_time,
        warmup=args.warmup,
        start_method=args.start_method,
        timeout=args.timeout,
        worker_timeout=args.worker_timeout,
        startup_timeout=args.startup_timeout,
        broker_url=broker_url,
        broker_source=source,
        workers=_parse_workers(args.workers),
        environ=inherited(environ),
        memory_limit=args.memory_limit,
        pythons=tuple(Interpreter.probe(path, backends.NEEDS) for path in args.python),
    )
    return settings.check()


def output_from_args(args, environ, settings: Settings | None = None) -> Output:
    notice = None
    brokered = settings is not None and any(backends.spec(name).needs_broker for name in settings.backends)
    if brokered and settings.broker_source == defaults.BROKER_ENV:
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
        verbose=getattr(args, "verbose", 0),
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
                return convoy_command.run(
                    *convoy_flags.from_args(args, os.environ, interactive=interactive, width=width)
                )
            if args.command == "load":  # issue 18: producer/traffic
                return traffic_command.main(args, os.environ, interactive=sys.stderr.isatty())
            if args.command == "report":
                return commands.report_saved(args.run, output_from_args(args, os.environ))
            if args.command == "diff":
                return commands.diff(args.a, args.b, force=args.force)
            if args.command == "sweep" and args.link_rtt:
                from producer import link_sweep

                settings, rtts = link_sweep_from_args(args, os.environ)
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
