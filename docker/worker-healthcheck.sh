#!/bin/sh
# Healthcheck of a worker container: healthy once the worker answers a ping.
#
# The worker writes its node name to $WORKER_NODENAME_FILE once it has started
# (python -m worker --nodename-file ...); the ping goes to that node only, so a
# replica is not declared healthy because another one answered.
# The celery CLI costs about a CPU-second of Python start-up, and Docker keeps
# running healthchecks during the benchmark: so the ping is only repeated until
# the first answer, then the check is a file test. A worker that dies still ends
# its container (it is the container's main process).
# The broker comes from the app (REDIS_URL or REDIS_URL_FILE), never from -b:
# a URL with a password on a command line shows in `ps`.
set -eu
NODEFILE=${WORKER_NODENAME_FILE:-/tmp/worker.nodename}
ANSWERED=/tmp/worker.answered

[ -f "$ANSWERED" ] && exit 0
[ -s "$NODEFILE" ] || { echo "worker has not written $NODEFILE yet"; exit 1; }
celery -A worker inspect ping -d "$(cat "$NODEFILE")" --timeout 3 >/dev/null
touch "$ANSWERED"
