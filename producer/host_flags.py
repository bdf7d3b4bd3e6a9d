"""The flags of hosts on one machine (issue 19): ``--hosts`` and ``--link`` on ``compare`` and
``sweep``, ``--link-rtt`` on ``sweep``. What they start is :mod:`producer.services.netns` and
:mod:`producer.services.relay`; they are checked by ``Settings.check`` (the Celery family)."""

from __future__ import annotations


def add_host_flags(c) -> None:
    c.add_argument(
        "--hosts",
        action="store_true",
        help="embedded only, root: Redis and each worker fleet in a network namespace of its own",
    )
    c.add_argument(
        "--link",
        metavar="LIST",
        help="with --hosts: the links' shape, e.g. rtt=2ms,jitter=0.2ms (through a relay)",
    )


def add_link_rtt(s) -> None:
    s.add_argument(
        "--link-rtt",
        metavar="LIST",
        help="root: sweep the broker's round trip instead, e.g. 0,1,4,20ms "
        "(Celery backends behind --hosts links)",
    )
