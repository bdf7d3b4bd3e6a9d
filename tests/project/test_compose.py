"""The docker compose stack: the files validate, and the whole stack compares
the pools with two prefork replicas.

The end-to-end test runs every container on the host's network (the override
docker/compose.hostnet.yml, Redis on a free port of 127.0.0.1): this project's
Docker engine runs without a bridge. It builds the local Debian base image
(docker/build-base-image.sh) once and reuses it.

Without docker-compose or a Docker engine the tests skip; under CI=true they
fail instead (CI starts an engine with .ci/docker.sh).
"""

import json
import os
import shutil
import socket
import ssl
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import redis

from tests.helpers import ROOT, unavailable

pytestmark = pytest.mark.compose

COMPOSE_FILE = ROOT / "docker-compose.yml"
HOSTNET_FILE = ROOT / "docker" / "compose.hostnet.yml"
CPUS_FILE = ROOT / "docker" / "compose.cpus.yml"
HOST_CA_COPY = ROOT / "docker" / "certs" / "host-ca.crt"  # git-ignored
BASE_IMAGE = os.environ.get("POOLBENCH_BASE_IMAGE", "poolbench-base:bookworm")
TEST_IMAGE = "poolbench:compose-test"
SERVICES = {"secrets", "redis", "worker-prefork", "worker-threads", "producer", "flower", "worker-threads-ft"}
PROFILES = ["--profile", "monitor", "--profile", "freethreaded"]
FT_IMAGE = "poolbench-ft:compose-test"
BACKENDS = ["sequential", "threads", "processes", "celery-prefork", "celery-threads"]


def run(args, timeout, env=None, check=True):
    proc = subprocess.run(args, cwd=ROOT, env=env, timeout=timeout, capture_output=True, text=True)
    if check and proc.returncode:
        raise AssertionError(
            f"{' '.join(map(str, args))} exited {proc.returncode}\n"
            f"--- stdout (end)\n{proc.stdout[-4000:]}\n--- stderr (end)\n{proc.stderr[-4000:]}"
        )
    return proc


@pytest.fixture(scope="module")
def compose():
    """The compose command: docker-compose (v1), else the docker compose plugin (v2)."""
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker") and run(["docker", "compose", "version"], 30, check=False).returncode == 0:
        return ["docker", "compose"]
    unavailable("neither docker-compose nor the docker compose plugin is installed")


@pytest.fixture(scope="module")
def docker_engine():
    if not shutil.which("docker"):
        unavailable("no docker client installed")
    try:
        proc = run(["docker", "info"], 30, check=False)
    except subprocess.TimeoutExpired:
        unavailable("the Docker engine did not answer `docker info` in 30 s")
    if proc.returncode:
        last = (proc.stderr.strip().splitlines() or ["?"])[-1]
        unavailable(f"no Docker engine answers ({last}); start one with `bash .ci/docker.sh start`")


def test_compose_files_validate(compose):
    for files in ([COMPOSE_FILE], [COMPOSE_FILE, HOSTNET_FILE], [COMPOSE_FILE, CPUS_FILE]):
        args = [*compose, *(arg for f in files for arg in ("-f", str(f)))]
        run([*args, *PROFILES, "config", "-q"], 60)


def test_compose_defines_the_services(compose):
    proc = run([*compose, "-f", str(COMPOSE_FILE), *PROFILES, "config", "--services"], 60)
    assert set(proc.stdout.split()) == SERVICES


@pytest.mark.parametrize("files", [[COMPOSE_FILE], [COMPOSE_FILE, HOSTNET_FILE]], ids=["bridge", "hostnet"])
def test_redis_keeps_protected_mode_and_takes_its_password_from_a_file(compose, files):
    """No password on any command line (``ps`` shows them to every user of the host)."""
    env = {**os.environ, "REDIS_PASSWORD": "not-in-any-argv-1234"}
    args = [*compose, *(arg for f in files for arg in ("-f", str(f))), "--profile", "monitor", "config"]
    config = run(args, 60, env).stdout
    words = " ".join(config.split())  # YAML folds long lines
    redis_command = words[words.index("command: redis-server") :].split(" healthcheck:")[0]
    assert "redis-server /run/poolbench/redis.conf" in redis_command, redis_command
    assert "--protected-mode yes" in redis_command, redis_command
    assert "protected-mode no" not in words
    assert "--requirepass" not in words
    assert config.count("not-in-any-argv-1234") == 1  # the secrets service's environment, nothing else
    assert "REDIS_URL:" not in config and " -b " not in config  # workers read the URL from a file


def ensure_base_image() -> None:
    if run(["docker", "image", "inspect", BASE_IMAGE], 60, check=False).returncode == 0:
        return
    if os.geteuid() != 0 or not shutil.which("debootstrap"):
        unavailable(f"{BASE_IMAGE} is missing and building it needs root and debootstrap")
    run([str(ROOT / "docker" / "build-base-image.sh"), BASE_IMAGE], 900)


def hand_host_ca_to_build() -> None:
    """Let pip in the build trust what the host trusts (a TLS-inspecting proxy's CA)."""
    candidates = [os.environ.get(v) for v in ("PIP_CERT", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")]
    candidates += [ssl.get_default_verify_paths().cafile, "/etc/ssl/certs/ca-certificates.crt"]
    for path in filter(None, candidates):
        if Path(path).is_file():
            bundle = Path(path).read_bytes()
            # Rewrite only on change: the build's layer cache keys on the content.
            if not HOST_CA_COPY.is_file() or HOST_CA_COPY.read_bytes() != bundle:
                HOST_CA_COPY.write_bytes(bundle)
            return


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def project_objects(kind: str, project: str) -> list[str]:
    """IDs of the project's containers (kind "ps -a") or networks (kind "network ls")."""
    label = f"label=com.docker.compose.project={project}"
    return run(["docker", *kind.split(), "-q", "--filter", label], 60).stdout.split()


def test_stack_compares_pools_with_two_prefork_replicas(compose, docker_engine, tmp_path):
    ensure_base_image()
    hand_host_ca_to_build()
    project = f"poolbench-test-{uuid.uuid4().hex[:8]}"
    # Left for Docker to create, root-owned, as from a fresh clone.
    results = tmp_path / "results"
    env = {
        **os.environ,
        "BASE_IMAGE": BASE_IMAGE,
        "REDIS_IMAGE": BASE_IMAGE,
        "POOLBENCH_IMAGE": TEST_IMAGE,
        "REDIS_PORT": str(free_port()),
        "RESULTS_DIR": str(results),
        "WORKER_CONCURRENCY": "2",
        "TASKS": "12",
        "REPEAT": "2",
        "BACKENDS": ",".join(BACKENDS),
        # The legacy builder: no buildx here, and build.network: host applies.
        "DOCKER_BUILDKIT": "0",
        "COMPOSE_DOCKER_CLI_BUILD": "0",
    }
    cmd = [*compose, "-p", project, "-f", str(COMPOSE_FILE), "-f", str(HOSTNET_FILE)]
    run([*cmd, "build", "producer"], 900, env)
    try:
        up_args = ["up", "--scale", "worker-prefork=2", "--exit-code-from", "producer"]
        up = run([*cmd, *up_args], 600, env, check=False)
        log = f"--- up stdout (end)\n{up.stdout[-6000:]}\n--- up stderr (end)\n{up.stderr[-3000:]}"
        assert up.returncode == 0, log
        assert project_objects("network ls", project) == [], "a Docker network was made: use the host's"
        # --exit-code-from stopped the workers with SIGTERM: a warm shutdown exits 0.
        inspect = ["docker", "inspect", "-f", "{{.Name}} {{.State.ExitCode}}"]
        states = run([*inspect, *project_objects("ps -a", project)], 60)
        for line in states.stdout.splitlines():
            name, code = line.split()
            if "worker" in name or "secrets" in name:
                assert code == "0", f"{name} exited {code}\n{log}"
        check_no_root_and_no_password_in_argv(project)
    finally:
        run([*cmd, "down", "-v", "--remove-orphans", "--timeout", "30"], 180, env, check=False)
    assert project_objects("ps -a", project) == [], f"containers of {project} left behind"

    report_file = results / "compare.json"
    st = report_file.stat()
    assert st.st_uid != 0, "the producer wrote its report as root"
    report = json.loads(report_file.read_text())
    page = (results / "report.html").read_text()
    assert "<svg" in page and "celery-prefork" in page, "report.html lacks its charts or table"
    assert report["ok"] is True, json.dumps(report["results"], indent=1)[:4000]
    by_backend = {r["backend"]: r for r in report["results"]}
    assert set(by_backend) == set(BACKENDS)
    assert all(r["ok"] for r in by_backend.values())
    assert "celery-prefork" in up.stdout, "the table is missing from the producer's output"

    prefork = by_backend["celery-prefork"]
    assert prefork["settings"]["workers"] == 2, prefork["settings"]
    assert prefork["concurrency"] == 4, prefork["settings"]
    measured = [rnd for rnd in prefork["rounds"] if not rnd.get("warmup")]
    ran_on = {task["worker"] for rnd in measured for task in rnd["tasks"]}
    assert ran_on == set(prefork["settings"]["nodes"]), "both replicas should get tasks"
    assert len(ran_on) == 2, ran_on

    # Written by the image's user into a folder Docker made: the host's user
    # (another uid) must still be able to read it, and nobody else write to it.
    assert st.st_mode & 0o004, f"compare.json has mode {st.st_mode & 0o777:o}: unreadable on the host"
    assert not results.stat().st_mode & 0o002, f"{results} is world-writable"
    assert report["settings"]["broker"].startswith("redis://:***@127.0.0.1:"), "Redis had no password"
    assert report["producer"]["peak_rss_bytes"] > 0


def check_no_root_and_no_password_in_argv(project: str) -> None:
    """Every container but the producer's entrypoint runs as a plain user; no argv holds a secret."""
    fmt = "{{.Name}}|{{.Config.User}}|{{json .Path}}|{{json .Args}}"
    inspect = run(["docker", "inspect", "-f", fmt, *project_objects("ps -a", project)], 60)
    for line in inspect.stdout.splitlines():
        name, user, path, args = line.split("|", 3)
        argv = [json.loads(path), *json.loads(args)]
        assert not any("redis://:" in arg or "requirepass" in arg for arg in argv), (name, argv)
        if "producer" in name:  # root only in run-as-results-owner, which drops it (checked above)
            assert argv[:2] == ["run-as-results-owner", "python"], argv
        else:
            assert user not in ("", "0", "root"), f"{name} runs as root"


def wait_healthy(project: str, service: str, count: int, timeout: float) -> list[str]:
    label = f"label=com.docker.compose.service={service}"
    deadline = time.monotonic() + timeout
    while True:
        ids = run(["docker", "ps", "-q", "--filter", f"label=com.docker.compose.project={project}",
                   "--filter", label], 60).stdout.split()  # fmt: skip
        health = run(["docker", "inspect", "-f", "{{.State.Health.Status}}", *ids], 60, check=False)
        health = health.stdout.split()
        if len(ids) == count and health == ["healthy"] * count:
            return ids
        assert time.monotonic() < deadline, f"{service}: {health} after {timeout} s"
        time.sleep(2)


def batch_held(client) -> bool:
    """Four messages held for 0.3 s: the batch's 3-second tasks, not the backend's start (a
    burst of no-op tasks that measures a message's cost, each held a few milliseconds)."""
    if client.hlen("unacked") < 4:
        return False
    time.sleep(0.3)
    return client.hlen("unacked") >= 4


def test_a_worker_container_killed_mid_batch_loses_no_task(compose, docker_engine, tmp_path):
    """Two prefork replicas; one is killed (SIGKILL) while it runs tasks: the other finishes them."""
    ensure_base_image()
    hand_host_ca_to_build()
    project = f"poolbench-test-{uuid.uuid4().hex[:8]}"
    results = tmp_path / "results"
    results.mkdir()
    port, password = free_port(), uuid.uuid4().hex
    env = {
        **os.environ,
        "BASE_IMAGE": BASE_IMAGE,
        "REDIS_IMAGE": BASE_IMAGE,
        "POOLBENCH_IMAGE": TEST_IMAGE,
        "REDIS_PORT": str(port),
        "REDIS_PASSWORD": password,
        "RESULTS_DIR": str(results),
        "WORKER_CONCURRENCY": "2",
        "DOCKER_BUILDKIT": "0",
        "COMPOSE_DOCKER_CLI_BUILD": "0",
    }
    cmd = [*compose, "-p", project, "-f", str(COMPOSE_FILE), "-f", str(HOSTNET_FILE)]
    run([*cmd, "build", "producer"], 900, env)
    producer = None
    try:
        run([*cmd, "up", "-d", "--scale", "worker-prefork=2", "worker-prefork"], 300, env)
        doomed, _ = wait_healthy(project, "worker-prefork", 2, 180)
        args = ["--workload", "sleep", "--size", "3000", "--tasks", "8", "--concurrency", "2"]
        args += ["--repeat", "1", "--warmup", "0", "--backends", "sequential,celery-prefork"]
        args += ["--json", "/results/kill.json"]
        producer = subprocess.Popen(
            [*cmd, "run", "--rm", "-T", "producer", "python", "-m", "producer", "compare", *args],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        client = redis.Redis(host="127.0.0.1", port=port, password=password, socket_timeout=5)
        deadline = time.monotonic() + 300
        while not batch_held(client):  # both replicas busy with the batch's prefork tasks
            assert producer.poll() is None and time.monotonic() < deadline, producer.communicate()
            time.sleep(0.05)
        run(["docker", "kill", "-s", "KILL", doomed], 60)
        stdout, stderr = producer.communicate(timeout=300)
        assert producer.returncode == 0, f"{stdout[-3000:]}\n{stderr[-3000:]}"
    finally:
        if producer is not None and producer.poll() is None:
            producer.kill()
        run([*cmd, "down", "-v", "--remove-orphans", "--timeout", "30"], 180, env, check=False)
    assert project_objects("ps -a", project) == []
    report = json.loads((results / "kill.json").read_text())
    prefork = report["results"][1]
    assert report["ok"] and prefork["checksum"] == report["results"][0]["checksum"]
    tasks = prefork["rounds"][0]["tasks"]
    assert sorted(task["index"] for task in tasks) == list(range(8))
    assert any(task["delivery"] == 2 for task in tasks)
    kinds = [incident["kind"] for incident in prefork["settings"]["faults"]["incidents"]]
    assert "vanished" in kinds, prefork["settings"]["faults"]
    assert password not in (results / "kill.json").read_text() + stdout


def test_the_freethreaded_profile_adds_a_threads_worker_on_its_own_queue(compose):
    plain = run([*compose, "-f", str(COMPOSE_FILE), "config"], 60).stdout
    with_ft = run([*compose, "-f", str(COMPOSE_FILE), "--profile", "freethreaded", "config"], 60).stdout
    assert "worker-threads-ft:" in with_ft and "docker/Dockerfile.ft" in with_ft
    assert "threads-ft" in with_ft.split("worker-threads-ft:", 1)[1].split("\n  producer:", 1)[0]
    if "worker-threads-ft:" in plain:  # docker-compose v1 lists every service, v2 only the active ones
        assert "freethreaded" in plain.split("worker-threads-ft:", 1)[1]


def test_the_freethreaded_profile_runs_the_threads_pool_without_a_gil(compose, docker_engine, tmp_path):
    """`--profile freethreaded`: the threads pool with and without the GIL, side by side."""
    ensure_base_image()
    hand_host_ca_to_build()
    project = f"poolbench-test-{uuid.uuid4().hex[:8]}"
    backends = ["sequential", "celery-threads", "celery-threads-ft"]
    env = {
        **os.environ,
        "BASE_IMAGE": BASE_IMAGE,
        "REDIS_IMAGE": BASE_IMAGE,
        "POOLBENCH_IMAGE": TEST_IMAGE,
        "POOLBENCH_FT_IMAGE": FT_IMAGE,
        "REDIS_PASSWORD": uuid.uuid4().hex,
        "REDIS_PORT": str(free_port()),
        "RESULTS_DIR": str(tmp_path / "results"),
        "WORKER_CONCURRENCY": "2",
        "TASKS": "4",
        "REPEAT": "2",
        "BACKENDS": ",".join(backends),
        "DOCKER_BUILDKIT": "0",
        "COMPOSE_DOCKER_CLI_BUILD": "0",
    }
    cmd = [
        *compose,
        "-p",
        project,
        "-f",
        str(COMPOSE_FILE),
        "-f",
        str(HOSTNET_FILE),
        "--profile",
        "freethreaded",
    ]
    run([*cmd, "build", "producer", "worker-threads-ft"], 1800, env)
    try:
        up = run([*cmd, "up", "--exit-code-from", "producer"], 600, env, check=False)
        assert up.returncode == 0, (
            f"--- up stdout (end)\n{up.stdout[-6000:]}\n--- stderr\n{up.stderr[-3000:]}"
        )
    finally:
        run([*cmd, "down", "-v", "--remove-orphans", "--timeout", "30"], 180, env, check=False)
    assert project_objects("ps -a", project) == [], f"containers of {project} left behind"
    report = json.loads((tmp_path / "results" / "compare.json").read_text())
    by_backend = {r["backend"]: r for r in report["results"]}
    assert set(by_backend) == set(backends) and report["ok"], json.dumps(report["results"])[:4000]
    free, gil = by_backend["celery-threads-ft"], by_backend["celery-threads"]
    assert free["settings"]["queue"] == "threads-ft"
    assert (free["python"]["free_threaded_build"], free["python"]["gil_enabled"]) == (True, False)
    assert free["python"]["python_version"].startswith("3.13.")
    assert gil["python"]["gil_enabled"] is True
