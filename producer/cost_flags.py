"""The flags of what each Celery task costs (issue 12): ``--chunks``, ``--prefetch`` and
``--no-result`` on ``compare`` and ``sweep``. What they change is
:mod:`producer.backends.celery.messages` and the embedded workers' settings; they are checked
by ``Settings.check``."""

from __future__ import annotations


def add_cost_flags(c) -> None:
    c.add_argument(
        "--chunks",
        type=int,
        metavar="N",
        default=1,
        help="Celery only: calls per message (Celery chunks; default 1)",
    )
    c.add_argument(
        "--prefetch",
        type=int,
        metavar="N",
        help="Celery only: the embedded workers' prefetch multiplier (default 1)",
    )
    c.add_argument(
        "--no-result",
        action="store_true",
        help="Celery only: fire and forget; tasks report completion to Redis, not the result backend "
        "(default off)",
    )
