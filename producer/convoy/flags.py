"""``poolbench convoy``'s flags: parsed and checked at the edge, before any work starts.

cli.py adds the subcommand with :func:`add_parser` and turns its arguments into
settings with :func:`from_args`; nothing else reads them.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from producer.convoy.measure import ConvoySettings
from producer.errors import UsageError
from producer.exports import check_writable
from producer.services.environ import inherited
from worker.cgroup import available_cpus

LIMITS = {"tasks": (1, 256), "duration": (0.05, 600.0), "rounds": (1, 100), "timeout": (0.1, 3600.0)}
DEFAULT_DURATION = 1.0
DEFAULT_ROUNDS = 3
DEFAULT_TIMEOUT = 30.0


@dataclass(frozen=True)
class ConvoyOutput:
    json_path: str | None = None
    """'-' writes the document to stdout and the report to stderr."""
    plot_path: str | None = None
    plot_format: str | None = None
    progress: bool = False
    width: int = 80


def add_parser(sub) -> None:
    c = sub.add_parser(
        "convoy",
        help="latency of a threaded echo server beside CPU-bound threads or processes (the GIL convoy)",
        description="Round trips to an echo server thread of this process, with no load, beside N "
        "CPU-bound threads, and beside N CPU-bound processes, interleaved round by round.",
    )
    c.add_argument(
        "--tasks",
        type=int,
        metavar="N",
        help="CPU-bound threads, or processes (default: usable CPUs, within the cgroup quota)",
    )
    c.add_argument(
        "--duration",
        type=float,
        metavar="S",
        default=DEFAULT_DURATION,
        help=f"seconds of round trips per condition per round (default {DEFAULT_DURATION:g})",
    )
    c.add_argument(
        "--rounds",
        type=int,
        metavar="R",
        default=DEFAULT_ROUNDS,
        help=f"interleaved rounds (default {DEFAULT_ROUNDS})",
    )
    c.add_argument(
        "--timeout",
        type=float,
        metavar="S",
        default=DEFAULT_TIMEOUT,
        help="seconds any one wait may take: a round trip, a load starting or stopping "
        f"(default {DEFAULT_TIMEOUT:g})",
    )
    c.add_argument("--json", dest="json_path", metavar="FILE", help="write the document; '-' for stdout")
    c.add_argument(
        "--plot",
        dest="plot_path",
        metavar="FILE.png|.svg",
        help="draw every round trip over time, per condition (needs matplotlib)",
    )
    c.add_argument("--no-progress", action="store_true", help="no progress line on stderr")


def _plot_format(path: str) -> str:
    from producer.convoy import plot

    suffix = os.path.splitext(path)[1].lower().lstrip(".")
    if suffix not in plot.FORMATS:
        raise UsageError(f"--plot draws .png or .svg files, not '{path}'")
    plot.require()
    check_writable("--plot", path)
    return suffix


def from_args(args, environ, *, interactive: bool, width: int) -> tuple[ConvoySettings, ConvoyOutput]:
    tasks = available_cpus() if args.tasks is None else args.tasks
    for name, value in (("tasks", tasks), ("duration", args.duration), ("rounds", args.rounds)):
        low, high = LIMITS[name]
        if not (math.isfinite(value) and low <= value <= high):
            raise UsageError(f"--{name} must be between {low:g} and {high:g}, not {value:g}")
    low, high = LIMITS["timeout"]
    if not (math.isfinite(args.timeout) and low <= args.timeout <= high):
        raise UsageError(f"--timeout must be between {low:g} and {high:g} seconds, not {args.timeout:g}")
    if args.json_path not in (None, "-"):
        check_writable("--json", args.json_path)
    plot_format = None
    if args.plot_path is not None:
        if args.plot_path in ("", "-"):
            raise UsageError("--plot writes a file; give its path, ending in .png or .svg")
        plot_format = _plot_format(args.plot_path)
    settings = ConvoySettings(
        tasks=tasks,
        duration=args.duration,
        rounds=args.rounds,
        timeout=args.timeout,
        environ=inherited(environ),
    )
    output = ConvoyOutput(
        json_path=args.json_path,
        plot_path=args.plot_path,
        plot_format=plot_format,
        progress=interactive and not args.no_progress,
        width=width,
    )
    return settings, output
