# Docker engine for the compose tests (issue 4).
#
# Source it and call the functions:
#     source .ci/docker.sh
#     docker_up      # install docker.io docker-compose debootstrap if missing,
#                    # start dockerd unless an engine already answers
#     ...run tests...
#     docker_down    # stop dockerd by its PID, only if docker_up started it
# or run it:  bash .ci/docker.sh start|stop|status
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
    _docker_sudo dockerd --bridge=none --iptables=false \
        >"$POOLBENCH_DOCKER_STATE/dockerd.log" 2>&1 &
    echo $! >"$POOLBENCH_DOCKER_STATE/dockerd.pid"
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
    [ -f "$pidfile" ] || return 0   # not ours: leave it alone
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
        _docker_sudo kill -TERM "$pid"
        # dockerd stops its containers and its containerd before it exits.
        for i in $(seq 1 30); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 1
        done
        kill -0 "$pid" 2>/dev/null && _docker_sudo kill -KILL "$pid"
    fi
    rm -f "$pidfile"
    echo "docker.sh: dockerd (PID $pid) stopped" >&2
}

# Run as a script: bash .ci/docker.sh start|stop|status
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    case "${1:-}" in
        start) docker_up ;;
        stop) docker_down ;;
        status) _docker_engine_answers && echo "engine answers" || { echo "no engine"; exit 1; } ;;
        *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
    esac
fi
