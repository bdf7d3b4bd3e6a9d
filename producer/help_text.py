"""What each subcommand's help page says besides its flags: a description, examples, exit codes.

The exit codes are those of :mod:`producer.errors`; the examples are commands a user can
paste. :mod:`producer.options` puts them on every page.
"""

from __future__ import annotations

EXIT_CODES = """exit codes:
  0    done, every result verified
  1    a backend failed, or a result did not match the baseline
  2    bad input (flag, value, workload), found before any work starts
  3    the Redis broker cannot be reached, or was lost mid-batch
  4    no Celery worker consumes a pool's queue
  5    a batch overran --timeout, or its tasks were lost
  6    the embedded Redis, its workers or local processes would not start
  129, 130, 143  SIGHUP, Ctrl-C, SIGTERM: everything started was stopped
  141  whoever read the output stopped reading"""

EXAMPLES = {
    "compare": """examples:
  poolbench compare --tasks 4 --concurrency 2     # fast: the machine's ceiling
  poolbench compare --workload sleep --backends threads,processes
  poolbench compare --workload mywork.py:crunch -v --html report.html""",
    "sweep": """examples:
  poolbench sweep --workload squares --concurrency 1,2,4 --plot sweep.png
  poolbench sweep --backends celery-prefork --workers 1,2 --concurrency 2""",
    "report": """examples:
  poolbench report run.json
  poolbench report run.json -vv --html run.html""",
    "diff": """examples:
  poolbench diff before.json after.json
  poolbench diff a.json b.json --force     # different workloads, anyway""",
    "list": """examples:
  poolbench list
  poolbench list | grep celery""",
    "convoy": """examples:
  poolbench convoy
  poolbench convoy --tasks 4 --plot convoy.png""",
}

DESCRIPTIONS = {
    "compare": "Time the same batch of one workload through a sequential baseline and each backend, "
    "interleaved round by round; print the table and a verdict (threads, processes, which Celery pool).",
    "sweep": "Run compare at several concurrencies (or numbers of embedded Celery workers) and show where "
    "each backend's speedup stops growing, against the ideal line.",
    "report": "Print a saved run (compare --json FILE) again, at any verbosity, and export it.",
    "diff": "Compare two saved runs backend by backend with Welch's t-test on their rounds: "
    "what got faster or slower, and whether it is more than noise.",
    "list": "List the built-in workloads with their kind of work, and the backends with their "
    "execution model and where they run (local or via a broker).",
}
