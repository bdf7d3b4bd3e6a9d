#!/usr/bin/env python3
"""Entrypoint of the compose ``secrets`` service: Redis's password, made once, shared by file.

A fresh clone's ``docker compose up`` just works, and its Redis still has a password
nobody typed: this writes, into the ``secrets`` volume (mounted at SECRETS_DIR, which
only the image's user may enter):

- ``redis.conf``: ``requirepass <password>``, read by redis-server (never on its
  command line, which ``ps`` shows to every user of the host);
- ``redis-url``: ``redis://:<password>@<REDIS_ADDRESS>/0``, read by the workers
  (``REDIS_URL_FILE``) and the producer (``--broker-file``).

The password is REDIS_PASSWORD when set, else the one already in the volume, else a
new random one; ``docker compose down -v`` forgets it. It is never printed. Both files
are mode 0600, owned by the image's user, as whom Redis runs too.

Then it waits, doing nothing, until it is stopped (SIGTERM: exit 0). A one-shot
service would end the whole stack under ``up --exit-code-from producer``, which stops
everything as soon as any container exits.
    redis-secret           (environment: REDIS_PASSWORD, REDIS_ADDRESS, SECRETS_DIR)
"""

import os
import secrets
import signal
import sys

SECRETS_DIR = os.environ.get("SECRETS_DIR", "/run/poolbench")
ADDRESS = os.environ.get("REDIS_ADDRESS", "redis:6379")
CONF = os.path.join(SECRETS_DIR, "redis.conf")
URL = os.path.join(SECRETS_DIR, "redis-url")
SAFE = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~")
"""Characters that need no quoting in a URL nor in redis.conf."""


def existing_password() -> str | None:
    try:
        with open(CONF) as f:
            for line in f:
                if line.startswith("requirepass "):
                    return line.split(" ", 1)[1].strip() or None
    except FileNotFoundError:
        return None
    return None


def write_private(path: str, text: str) -> None:
    tmp = f"{path}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def main() -> int:
    given, kept = os.environ.get("REDIS_PASSWORD"), existing_password()
    password = given or kept or secrets.token_urlsafe(24)
    source = "REDIS_PASSWORD" if given else "kept from the volume" if kept else "generated"
    if not set(password) <= SAFE:
        print("redis-secret: REDIS_PASSWORD may hold only letters, digits and - _ . ~", file=sys.stderr)
        return 2
    write_private(CONF, f"requirepass {password}\n")
    write_private(URL, f"redis://:{password}@{ADDRESS}/0\n")
    print(f"redis-secret: Redis password ({source}) written to {SECRETS_DIR}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        signal.pause()


if __name__ == "__main__":
    sys.exit(main())
