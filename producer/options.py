"""The command line's grammar: every subcommand, its flags, examples and exit codes.

Checking the values and turning them into settings is :mod:`producer.cli`'s job. Every
flag's help states its default; metavars are the same everywhere: N a whole number,
S seconds, MS milliseconds, FILE and PATH files, LIST comma-separated values.
"""

from __future__ import annotations

import argparse
import textwrap

from producer import exports
from producer import settings as defaults
from producer.convoy import flags as convoy_flags
from producer.cost_flags import add_cost_flags
from producer.errors import UsageError
from producer.help_text import DESCRIPTIONS, EXAMPLES, EXIT_CODES
from producer.host_flags import add_host_flags, add_link_rtt
from producer.traffic import flags as traffic_flags
from producer.version import __version__


class Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not argparse's usage block
        raise UsageError(f"{message} (try '{self.prog} --help')")


def _command(sub, name: str, help_text: str, **kwargs) -> argparse.ArgumentParser:
    return sub.add_parser(
        name,
        help=help_text,
        description=textwrap.fill(DESCRIPTIONS[name], 78),
        epilog=EXAMPLES[name] + "\n\n" + EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        **kwargs,
    )


def parser(prog: str) -> argparse.ArgumentParser:
    p = Parser(
        prog=prog,
        description="Threads, processes, or which Celery pool? Measure it for your function.",
        epilog=f"'{prog} COMMAND --help' shows each command's options, examples and exit codes.",
    )
    p.add_argument("--version", action="version", version=f"poolbench {__version__}")
    sub = p.add_subparsers(
        dest="command", metavar="{compare,sweep,report,diff,list,convoy,load}", parser_class=Parser
    )
    sub.required = True
    _run_options(_command(sub, "compare", "time one workload through several backends"))
    _sweep_parser(sub)
    _saved_run_parsers(sub)
    _command(sub, "list", "list workloads and backends")
    convoy_flags.add_parser(sub)
    _finish_convoy(sub.choices["convoy"])
    traffic_flags.add_parser(sub)
    return p


def _finish_convoy(c: argparse.ArgumentParser) -> None:
    """convoy's flags are its own (convoy/flags.py); its help gets the same examples, codes, metavars."""
    c.description = textwrap.fill(c.description or "", 78)
    c.epilog = EXAMPLES["convoy"] + "\n\n" + EXIT_CODES
    c.formatter_class = argparse.RawDescriptionHelpFormatter
    for action in c._actions:
        if action.metavar == "R":
            action.metavar = "N"


def _how_shown(c: argparse.ArgumentParser) -> None:
    """How much of a run the terminal shows: its columns (--wide) and its detail (-v, -vv)."""
    c.add_argument(
        "--wide", action="store_true", help="every column, not just those that fit 80 columns (default off)"
    )
    c.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="-v adds the notes and the workers' settings, -vv the per-task breakdown and memory "
        "(default: the answer on one screen)",
    )


def _concurrency(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        hint = " (several values: use 'poolbench sweep --concurrency " + text + "')" if "," in text else ""
        raise argparse.ArgumentTypeError(f"expected a whole number, not {text!r}{hint}") from None


def _run_options(c: argparse.ArgumentParser) -> None:
    """The options of every command that runs a measurement (compare, sweep)."""
    c.add_argument(
        "--workload",
        default="squares",
        metavar="NAME",
        help="built-in name (see 'list'), pkg.module:function or file.py:function (default squares)",
    )
    c.add_argument(
        "--size",
        type=_int_or_auto,
        metavar="N",
        help="argument passed to the workload, or 'auto' to calibrate it to --call-ms "
        "(default: the workload's own; auto for your own functions)",
    )
    c.add_argument(
        "--call-ms",
        type=float,
        metavar="MS",
        default=defaults.DEFAULT_CALL_MS,
        help="with --size auto, the time one call should take (default 100)",
    )
    c.add_argument(
        "--tasks", type=int, metavar="N", default=defaults.DEFAULT_TASKS, help="calls per batch (default 10)"
    )
    c.add_argument(
        "--concurrency",
        type=_concurrency,
        metavar="N",
        default=defaults.DEFAULT_CONCURRENCY,
        help="threads, processes, and Celery worker concurrency (default 10; several: see sweep)",
    )
    c.add_argument(
        "--backends",
        default=",".join(defaults.DEFAULT_BACKENDS),
        metavar="LIST",
        help="comma-separated; the sequential baseline always runs (see 'list'; default "
        + ",".join(defaults.DEFAULT_BACKENDS[1:])
        + ")",
    )
    c.add_argument(
        "--repeat",
        type=_int_or_auto,
        default="auto",
        metavar="N",
        help="measured rounds, or 'auto': until the comparison is decided or --max-time runs out "
        "(default auto)",
    )
    c.add_argument(
        "--max-time",
        type=float,
        metavar="S",
        default=defaults.DEFAULT_MAX_TIME,
        help="with --repeat auto, seconds of measured rounds at most (default 60)",
    )
    c.add_argument(
        "--warmup",
        type=int,
        metavar="N",
        default=defaults.DEFAULT_WARMUP,
        help="uncounted rounds (default 1)",
    )
    c.add_argument(
        "--start-method",
        choices=["fork", "spawn", "forkserver"],
        help="multiprocessing start method (default: the platform's)",
    )
    c.add_argument(
        "--timeout",
        type=float,
        metavar="S",
        default=defaults.DEFAULT_TIMEOUT,
        help="seconds one batch may take (default 300)",
    )
    c.add_argument(
        "--worker-timeout",
        type=float,
        metavar="S",
        default=defaults.DEFAULT_WORKER_TIMEOUT,
        help="seconds to wait for a worker on each Celery queue (default 10)",
    )
    c.add_argument(
        "--startup-timeout",
        type=float,
        metavar="S",
        default=defaults.DEFAULT_STARTUP_TIMEOUT,
        help="seconds the embedded Redis and workers may take to start (default 60)",
    )
    c.add_argument(
        "--broker",
        metavar="URL",
        help=f"Redis URL of running workers (default: ${defaults.BROKER_ENV}; "
        "if neither is set, start a private Redis and workers); a password here shows in ps: "
        "prefer --broker-env or --broker-file",
    )
    c.add_argument(
        "--broker-env",
        metavar="VAR",
        help="read the broker's URL from environment variable VAR (default: none)",
    )
    c.add_argument(
        "--broker-file",
        metavar="FILE",
        help="read the broker's URL from the first line of FILE (default: none)",
    )
    c.add_argument(
        "--workers",
        default="",
        metavar="LIST",
        help="embedded worker processes per pool, e.g. prefork=3,threads=2 (default 1 per pool)",
    )
    add_cost_flags(c)
    add_host_flags(c)
    c.add_argument(
        "--json",
        dest="json_path",
        metavar="FILE",
        help="write the result document; '-' for stdout (default: none)",
    )
    c.add_argument(
        "--python",
        action="append",
        default=[],
        metavar="PATH",
        help="also run every backend under this interpreter (a free-threaded build, say); repeatable "
        "(default: only this one)",
    )
    c.add_argument(
        "--memory-limit",
        type=int,
        metavar="N",
        help="MiB a local backend's processes may grow by in a batch before the run is stopped "
        "(default: half the memory available)",
    )
    exports.add_flags(c)
    c.add_argument(
        "--no-progress", action="store_true", help="no progress bar on stderr (default: one on a terminal)"
    )
    _how_shown(c)


def _int_or_auto(text: str):
    if text == "auto":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number or 'auto', not {text!r}") from None


def _sweep_parser(sub) -> None:
    """``sweep`` takes every ``compare`` option; --concurrency and --workers become lists."""
    s = _command(
        sub,
        "sweep",
        "speedup and efficiency against concurrency, or against embedded Celery workers",
        conflict_handler="resolve",
    )
    _run_options(s)
    for action in s._actions:
        if action.dest == "plot_path":
            action.help = "draw the speedup against concurrency, with the ideal line (needs matplotlib)"
    s.add_argument(
        "--concurrency",
        default="1,2,4,8",
        metavar="LIST",
        help="comma-separated concurrencies to sweep (default 1,2,4,8)",
    )
    s.add_argument(
        "--workers",
        default="1",
        metavar="LIST",
        help="comma-separated numbers of embedded worker processes per Celery pool (default 1)",
    )
    s.add_argument(
        "--tasks", type=int, metavar="N", help="calls per batch (default: twice the largest concurrency)"
    )
    add_link_rtt(s)


def _saved_run_parsers(sub) -> None:
    r = _command(sub, "report", "re-render a saved run (compare --json FILE)")
    r.add_argument("run", metavar="RUN.json", help="a result document written by compare --json")
    exports.add_flags(r)
    _how_shown(r)
    d = _command(sub, "diff", "compare two saved runs backend by backend (Welch's t-test)")
    d.add_argument("a", metavar="A.json", help="the earlier or reference run")
    d.add_argument("b", metavar="B.json", help="the run to compare with it")
    d.add_argument(
        "--force", action="store_true", help="compare runs of different workloads anyway (default off)"
    )
