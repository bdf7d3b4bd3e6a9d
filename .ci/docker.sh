# Docker engine for the compose tests (issue 4).
#
# Source it and call the functions:
#     source .ci/docker.sh
#     docker_up      # install docker.io docker-compose debootstrap if missing,
#                    # start dockerd unless an engine already answers
#     ...run tests...
#     docker_down    # stop dockerd by its PID, only if this shell's docker_up
#                    # started it (an engine found running is left alone)
# (with `set -e`, add `trap docker_down EXIT` so a failing step stops it too)
# or run it:  bash .ci/docker.sh start|stop|status   (stop: the dockerd that a
# `start` recorded, whichever shell ran it)
#
# The engine runs with --bridge=none --iptables=false: this machine has no
# bridge to offer, so every container must use network_mode: host.
# dockerd's PID goes to $POOLBENCH_DOCKER_STATE/dockerd.pid and its log to
# $POOLBENCH_DOCKER_STATE/dockerd.log (default /tmp/poolbench-docker).

POOLBENCH_DOCKER_STATE=${POOLBENCH_DOCKER_STATE:-/tmp/poolbench-docker}

_docker_sudo() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

_docker_engine_answers() {
    command -v docker >/dev/null 2>&1 && timeout 10 docker info >/dev/null 2>&1
}

docker_install() {
    local missing=""
    command -v docker >/dev/null 2>&1 || missing="$missing docker.io"
    command -v dockerd >/dev/null 2>&1 || missing="$missing docker.io"
    command -v docker-compose >/dev/null 2>&1 || missing="$missing docker-compose"
    command -v debootstrap >/dev/null 2>&1 || missing="$missing debootstrap"
    [ -z "$missing" ] && return 0
    echo "docker.sh: installing$missing" >&2
    _docker_sudo apt-get update -qq &&
        _docker_sudo env DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

docker_up() {
    docker_install || { echo "docker.sh: apt-get install failed" >&2; return 1; }
    if _docker_engine_answers; then
        echo "docker.sh: using the Docker engine already running" >&2
        return 0
    fi
    mkdir -p "$POOLBENCH_DOCKER_STATE"
    local cmd=(dockerd --bridge=none --iptables=false)
    [ "$(id -u)" = 0 ] || cmd=(sudo "${cmd[@]}")
    # A plain command, not a function: $! is then dockerd's own PID (or sudo's).
    "${cmd[@]}" >"$POOLBENCH_DOCKER_STATE/dockerd.log" 2>&1 &
    echo $! >"$POOLBENCH_DOCKER_STATE/dockerd.pid"
    POOLBENCH_DOCKERD_STARTED=1
    local i
    for i in $(seq 1 60); do
        if _docker_engine_answers; then
            echo "docker.sh: dockerd started, PID $(cat "$POOLBENCH_DOCKER_STATE/dockerd.pid")" >&2
            return 0
        fi
        kill -0 "$(cat "$POOLBENCH_DOCKER_STATE/dockerd.pid")" 2>/dev/null || break
        sleep 1
    done
    echo "docker.sh: dockerd did not come up; last log lines:" >&2
    tail -n 20 "$POOLBENCH_DOCKER_STATE/dockerd.log" >&2
    docker_down
    return 1
}

docker_down() {
    local pidfile="$POOLBENCH_DOCKER_STATE/dockerd.pid" pid i
    # Not started here (or already stopped): leave it alone.
    [ "${POOLBENCH_DOCKERD_STARTED:-}" = 1 ] || [ "${1:-}" = --recorded ] || return 0
    [ -f "$pidfile" ] || return 0
    pid=$(cat "$pidfile")
    # A stale file may name a PID that now belongs to another program.
    if kill -0 "$pid" 2>/dev/null && grep -qE '^(dockerd|sudo)$' "/proc/$pid/comm"; then
        _docker_sudo kill -TERM "$pid"
        # dockerd stops its containers and its containerd before it exits.
        for i in $(seq 1 30); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 1
        done
        kill -0 "$pid" 2>/dev/null && _docker_sudo kill -KILL "$pid"
        echo "docker.sh: dockerd (PID $pid) stopped" >&2
    else
        echo "docker.sh: PID $pid is not a running dockerd; nothing stopped" >&2
    fi
    rm -f "$pidfile"
    POOLBENCH_DOCKERD_STARTED=
}

# Run as a script: bash .ci/docker.sh start|stop|status
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    case "${1:-}" in
        start) docker_up ;;
        stop) docker_down --recorded ;;
        status) _docker_engine_answers && echo "engine answers" || { echo "no engine"; exit 1; } ;;
        *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
    esac
fi
