"""The command line's grammar: every subcommand and its flags, and nothing else.

Checking the values and turning them into settings is :mod:`producer.cli`'s job.
"""

from __future__ import annotations

import argparse

from producer import __version__, exports
from producer import settings as defaults
from producer.convoy import flags as convoy_flags
from producer.errors import UsageError


class Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not argparse's usage block
        raise UsageError(f"{message} (try '{self.prog} --help')")


def parser(prog: str) -> argparse.ArgumentParser:
    p = Parser(prog=prog, description="Threads, processes, or which Celery pool? Measure it.")
    p.add_argument("--version", action="version", version=f"poolbench {__version__}")
    sub = p.add_subparsers(
        dest="command", metavar="{compare,sweep,report,diff,list,convoy}", parser_class=Parser
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
        "if neither is set, start a private Redis and workers); a password here shows in ps: "
        "prefer --broker-env or --broker-file",
    )
    c.add_argument("--broker-env", metavar="VAR", help="read the broker's URL from environment variable VAR")
    c.add_argument("--broker-file", metavar="PATH", help="read the broker's URL from the first line of PATH")
    c.add_argument(
        "--workers", default="", help="embedded worker processes per pool, e.g. prefork=3,threads=2"
    )
    _cost_flags(c)
    _host_flags(c)
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


def _cost_flags(c) -> None:
    """What each Celery task costs: messages, prefetch, the result backend (issue 12)."""
    c.add_argument("--chunks", type=int, default=1, help="Celery only: calls per message (Celery chunks)")
    c.add_argument(
        "--prefetch", type=int, help="Celery only: the embedded workers' prefetch multiplier (default 1)"
    )
    c.add_argument(
        "--no-result",
        action="store_true",
        help="Celery only: fire and forget; tasks report completion to Redis, not the result backend",
    )


def _host_flags(c) -> None:
    """Hosts on one machine (issue 19): services/netns.py, services/relay.py."""
    c.add_argument(
        "--hosts",
        action="store_true",
        help="embedded only, root: Redis and each worker fleet in a network namespace of its own",
    )
    c.add_argument(
        "--link", help="with --hosts: the links' shape, e.g. rtt=2ms,jitter=0.2ms (through a relay)"
    )


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
    s.add_argument(
        "--link-rtt",
        metavar="RTTS",
        help="root: sweep the broker's round trip instead, e.g. 0,1,4,20ms "
        "(Celery backends behind --hosts links)",
    )


def _saved_run_parsers(sub) -> None:
    r = sub.add_parser("report", help="re-render a saved run (compare --json FILE)")
    r.add_argument("run", metavar="RUN.json", help="a result document written by compare --json")
    exports.add_flags(r)
    r.add_argument("--wide", action="store_true", help="every column, not just those that fit 80 columns")
    d = sub.add_parser("diff", help="compare two saved runs backend by backend (Welch's t-test)")
    d.add_argument("a", metavar="A.json", help="the earlier or reference run")
    d.add_argument("b", metavar="B.json", help="the run to compare with it")
    d.add_argument("--force", action="store_true", help="compare runs of different workloads anyway")
