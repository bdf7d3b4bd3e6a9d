"""Where the broker's URL comes from, so that its password never has to be typed into argv.

Every user of the machine can read every process's command line (``ps``), so a URL
with a password belongs in the environment or in a file only its owner can read:

    --broker URL          the URL itself (a password in it shows in ``ps``)
    --broker-env VAR      the URL is in environment variable VAR
    --broker-file PATH    the URL is the first line of PATH; refused if it holds a password
                          and other users may read it (as ssh refuses such a key)
    $REDIS_URL            when none of the above is given

Called by the CLI only, with the environment it read; nothing here reads it itself.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from urllib.parse import urlsplit

from producer.errors import UsageError


def has_password(url: str) -> bool:
    try:
        return bool(urlsplit(url).password)
    except ValueError:
        return False


def read_url_file(path: str) -> str:
    try:
        with open(path) as f:
            line = f.readline().strip()
    except OSError as exc:
        raise UsageError(f"--broker-file {path}: cannot read it ({exc.strerror or exc})") from None
    if not line:
        raise UsageError(f"--broker-file {path}: the file is empty; put the Redis URL on its first line")
    return line


def readable_by_others(path: str) -> bool:
    try:
        return bool(os.stat(path).st_mode & (stat.S_IRGRP | stat.S_IROTH))
    except OSError:
        return False


def resolve(
    broker: str | None, env_var: str | None, path: str | None, environ: Mapping[str, str], default_env: str
) -> tuple[str | None, str | None]:
    """``(URL, where it came from)`` from the flags, else ``$default_env``, else ``(None, None)``.

    Where it came from is ``--broker``, ``--broker-env VAR``, ``--broker-file PATH`` or
    ``default_env``; UsageError if the source is unusable.
    """
    flags = (("--broker", broker), ("--broker-env", env_var), ("--broker-file", path))
    given = [flag for flag, value in flags if value]
    if len(given) > 1:
        raise UsageError(f"{' and '.join(given)} both name the broker; give one")
    if broker:
        return broker, "--broker"
    if env_var:
        url = environ.get(env_var, "").strip()
        if not url:
            raise UsageError(f"--broker-env {env_var}: no such variable in the environment, or it is empty")
        return url, f"--broker-env {env_var}"
    if path:
        url = read_url_file(path)
        if has_password(url) and readable_by_others(path):
            raise UsageError(f"--broker-file {path}: other users can read its password; chmod 600 {path}")
        return url, f"--broker-file {path}"
    url = environ.get(default_env) or None
    return url, (default_env if url else None)
