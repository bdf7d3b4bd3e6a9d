"""``poolbench load``'s flags: parsed and checked at the edge, before any work starts.

cli.py adds the subcommand with :func:`add_parser` and runs it with :func:`main`.
The workload, backend and Celery options mean what they mean for ``compare``.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from producer import backends, broker_source
from producer import settings as defaults
from producer.backends import BASELINE
from producer.errors import UsageError
from producer.services.environ import inherited
from producer.settings import DEFAULT_BACKENDS as DEFAULT_COMPARED
from producer.settings import Settings
from producer.traffic import arrivals, generator, targets
from producer.traffic.session import MIN_TASKS, LoadSettings

DEFAULT_BACKENDS = ",".join(name for name in DEFAULT_COMPARED if name != BASELINE)
"""compare's backends, less the baseline (which load runs on its own to verify)."""
DEFAULT_DURATION = 5.0
DEFAULT_CONCURRENCY = 4
MAX_DURATION = 3600.0


@dataclass(frozen=True)
class LoadOutput:
    json_path: str | None = None
    plot_path: str | None = None
    html_path: str | None = None
    progress: bool = False


def add_parser(sub) -> None:
    c = sub.add_parser(
        "load",
        help="latency at arrival rates (open loop), and each pool's capacity",
        description="Send tasks at a rate (Poisson or uniform arrivals) without waiting for results; "
        "measure latency percentiles, achieved rate and capacity for each backend.",
    )
    c.add_argument(
        "--workload", default="squares", help="built-in name, pkg.module:function or file.py:function"
    )
    c.add_argument("--size", type=int, help="argument passed to the workload (default: the workload's own)")
    c.add_argument(
        "--concurrency",
        type=int,
        default=DEFAULT_CONCURRENCY,
        help=f"threads, processes, and Celery worker concurrency (default {DEFAULT_CONCURRENCY})",
    )
    c.add_argument(
        "--backends", default=DEFAULT_BACKENDS, help=f"comma-separated (default {DEFAULT_BACKENDS})"
    )
    c.add_argument(
        "--rate", required=False, help="tasks per second, e.g. 20,40,80, or 'auto': step up until saturated"
    )
    c.add_argument(
        "--duration",
        type=float,
        default=DEFAULT_DURATION,
        help=f"seconds per step (default {DEFAULT_DURATION:g}); at least 100 tasks per step",
    )
    c.add_argument(
        "--arrivals", choices=arrivals.KINDS, default="poisson", help="arrival process (default poisson)"
    )
    c.add_argument("--seed", type=int, default=1, help="the arrival process's seed (default 1)")
    c.add_argument("--repeat", type=int, default=1, help="steps at each listed rate (default 1)")
    c.add_argument("--start-method", choices=["fork", "spawn", "forkserver"], help="for the processes pool")
    c.add_argument("--worker-timeout", type=float, default=defaults.DEFAULT_WORKER_TIMEOUT)
    c.add_argument("--startup-timeout", type=float, default=defaults.DEFAULT_STARTUP_TIMEOUT)
    c.add_argument("--broker", help=f"Redis URL of running workers (default: ${defaults.BROKER_ENV})")
    c.add_argument("--broker-env", metavar="VAR", help="read the broker's URL from environment variable VAR")
    c.add_argument("--broker-file", metavar="PATH", help="read the broker's URL from the first line of PATH")
    c.add_argument("--workers", default="", help="embedded worker processes per pool, e.g. prefork=2")
    c.add_argument("--prefetch", type=int, help="Celery only: the embedded workers' prefetch multiplier")
    c.add_argument("--chunks", type=int, help="not for load: each task is sent alone, when it arrives")
    c.add_argument("--no-result", action="store_true", help="not for load: latency is read from results")
    c.add_argument("--python", action="append", metavar="PATH", help="not for load yet (compare has it)")
    c.add_argument("--json", dest="json_path", metavar="FILE", help="write the document; '-' for stdout")
    c.add_argument(
        "--plot", dest="plot_path", metavar="FILE.png|.svg", help="latency-throughput and queue depth"
    )
    c.add_argument("--html", dest="html_path", metavar="FILE.html", help="a report with both pictures")
    c.add_argument("--no-progress", action="store_true", help="no progress line on stderr")


def parse_rates(text: str | None) -> tuple[float, ...] | None:
    if text is None or not text.strip():
        raise UsageError("--rate is required: tasks per second, e.g. --rate 20,40,80, or --rate auto")
    if text.strip() == "auto":
        return None
    try:
        rates = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise UsageError(
            f"--rate takes numbers of tasks per second separated by commas, or auto; not '{text}'"
        ) from None
    if not rates:
        raise UsageError("--rate is required: tasks per second, e.g. --rate 20,40,80, or --rate auto")
    bad = [r for r in rates if not math.isfinite(r) or r <= 0]
    if bad:
        raise UsageError(f"--rate must be above 0 tasks per second, not {bad[0]:g}")
    return tuple(sorted(set(rates)))


def _writable(flag: str, path: str | None, suffixes: tuple[str, ...]) -> None:
    if path in (None, "-"):
        return
    if suffixes and not path.lower().endswith(suffixes):
        raise UsageError(f"{flag} writes {' or '.join(suffixes)} files, not '{path}'")
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path) or not os.path.isdir(folder) or not os.access(folder, os.W_OK):
        raise UsageError(f"cannot write {flag} file '{path}': its folder does not exist or is not writable")


def _workers(text: str, pools: list[str]) -> dict[str, int]:
    out = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        pool, sep, count = item.partition("=")
        if not sep or not count.isdigit() or not 1 <= int(count) <= 64 or pool not in pools:
            raise UsageError(f"--workers takes pool=count (1 to 64) for a selected Celery pool; not '{item}'")
        out[pool] = int(count)
    return out


def refuse_batch_flags(args) -> None:
    """compare's flags that have no meaning at an arrival rate: one line each, exit 2."""
    if args.chunks is not None:
        raise UsageError(
            "--chunks groups calls into one message, so a call would wait for the next ones to arrive; "
            "load sends each task alone, at its arrival time"
        )
    if args.no_result:
        raise UsageError("--no-result stores no results, and load reads each task's latency from its result")
    if args.python:
        raise UsageError(
            "--python is not in load yet: run load under that interpreter instead "
            f"(`{args.python[0]} -m producer load ...`), or use compare --python"
        )


def from_args(args, environ, *, interactive: bool) -> tuple[LoadSettings, LoadOutput]:
    refuse_batch_flags(args)
    rates = parse_rates(args.rate)
    if not (math.isfinite(args.duration) and 0 < args.duration <= MAX_DURATION):
        raise UsageError(f"--duration must be above 0 and at most {MAX_DURATION:g} s, not {args.duration:g}")
    if rates and min(rates) * args.duration < MIN_TASKS:
        raise UsageError(
            f"--duration {args.duration:g} s gives {min(rates) * args.duration:.0f} tasks "
            f"at {min(rates):g}/s; "
            f"a step needs {MIN_TASKS}: use --duration {math.ceil(MIN_TASKS / min(rates))} or more"
        )
    if rates:
        ceiling = generator.own_ceiling()
        if max(rates) > ceiling * generator.CEILING_USE:
            raise UsageError(
                f"--rate {max(rates):g}: the generator sends at most about {ceiling:,.0f} tasks/s on this "
                f"machine now; keep rates under {ceiling * generator.CEILING_USE:,.0f}"
            )
    if not 1 <= args.concurrency <= 1024:
        raise UsageError(f"--concurrency must be between 1 and 1,024, not {args.concurrency}")
    if not 1 <= args.repeat <= 100:
        raise UsageError(f"--repeat must be between 1 and 100, not {args.repeat}")
    if args.size is not None and args.size < 0:
        raise UsageError(f"--size must be 0 or more, not {args.size}")
    names = list(dict.fromkeys(backends.spec(n.strip()).name for n in args.backends.split(",") if n.strip()))
    if not names:
        raise UsageError("--backends names no backend")
    pools = [backends.spec(n).pool for n in names if backends.spec(n).needs_broker]
    url, source = broker_source.resolve(
        args.broker, args.broker_env, args.broker_file, environ, defaults.BROKER_ENV
    )
    if (args.workers or args.prefetch is not None) and url:
        raise UsageError("--workers and --prefetch size the embedded stack; not with --broker or REDIS_URL")
    for flag, path, suffixes in (
        ("--json", args.json_path, ()),
        ("--plot", args.plot_path, (".png", ".svg")),
        ("--html", args.html_path, (".html",)),
    ):
        _writable(flag, path, suffixes)
    if args.plot_path or args.html_path:
        from producer.report import load_plot as plot

        plot.require()
    _check_workload(args.workload)
    base = Settings(
        workload=args.workload,
        size=args.size,
        concurrency=args.concurrency,
        backends=tuple(names),
        start_method=args.start_method,
        worker_timeout=args.worker_timeout,
        startup_timeout=args.startup_timeout,
        broker_url=url,
        broker_source=source,
        workers=_workers(args.workers, pools),
        prefetch=args.prefetch,
        environ=inherited(environ),
    )
    targets.check(base)
    base.check()  # what the registry and the families say (the same checks as compare's)
    load = LoadSettings(base, rates, args.duration, args.arrivals, args.seed, args.repeat)
    output = LoadOutput(args.json_path, args.plot_path, args.html_path, interactive and not args.no_progress)
    return load, output


def _check_workload(spec: str) -> None:
    from workloads import resolve
    from workloads.registry import WorkloadError

    try:
        resolve(spec)
    except WorkloadError as exc:
        raise UsageError(str(exc)) from None
