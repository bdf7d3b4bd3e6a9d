#!/usr/bin/env python3
"""Entrypoint of the producer container: make /results writable, read the broker, drop root.

Compose bind-mounts ./results from the host. When the folder did not exist
(a fresh clone), Docker created it owned by root, and the image's non-root user
could not write into it. Started as root, this script:
- runs the command as the folder's owner when that is not root, so the files on
  the host belong to whoever made the folder;
- otherwise gives the folder to the image's user (mode 0755, never world-writable)
  and runs as that user: the report is readable on the host, and writable only by
  uid 10001 (create ./results yourself first to own the files);
- reads Redis's URL from REDIS_URL_FILE (the secrets volume, readable by the image's
  user only) into REDIS_URL, so the command gets it in its environment, which only
  its own user can read, and never in its argv, which ``ps`` shows to everyone.
The command itself never runs as root. Started as non-root, it only execs.
    run-as-results-owner COMMAND [ARG...]
"""

import os
import pwd
import sys

RESULTS = os.environ.get("RESULTS_DIR", "/results")
APP_USER = "app"


def read_broker() -> None:
    path = os.environ.pop("REDIS_URL_FILE", None)
    if path and not os.environ.get("REDIS_URL"):
        with open(path) as f:
            os.environ["REDIS_URL"] = f.readline().strip()


def drop_root() -> None:
    app = pwd.getpwnam(APP_USER)
    os.makedirs(RESULTS, exist_ok=True)
    st = os.stat(RESULTS)
    if st.st_uid != 0:
        uid, gid = st.st_uid, st.st_gid
    else:
        os.chown(RESULTS, app.pw_uid, app.pw_gid)
        os.chmod(RESULTS, 0o755)
        uid, gid = app.pw_uid, app.pw_gid
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)
    os.environ["HOME"] = app.pw_dir if uid == app.pw_uid else "/tmp"


def main(argv: list[str]) -> None:
    if not argv:
        sys.exit(f"usage: {os.path.basename(sys.argv[0])} COMMAND [ARG...]")
    if os.geteuid() == 0:
        read_broker()
        drop_root()
    os.execvp(argv[0], argv)


if __name__ == "__main__":
    main(sys.argv[1:])
