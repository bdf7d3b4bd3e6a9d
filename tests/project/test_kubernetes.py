"""Workers elsewhere: the Kubernetes manifests, the worker-only compose file, and
``python -m worker`` with a URL file, as those deployments start it.

The built-in kinds are validated offline against the Kubernetes schemas that
``kubernetes-validate`` ships (strict: an unknown field fails); KEDA's ScaledObject and
TriggerAuthentication, custom resources, against deploy/kubernetes/schema/keda.json,
written from KEDA's documented fields. The worker command of a Deployment then runs for
real: its URL from a file, its concurrency from what the Downward API would give.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from producer.services.process import _die_with_parent
from tests.faults import make_backend
from tests.helpers import ROOT
from worker.protocol import POOLS, queue_for

kubernetes_validate = pytest.importorskip("kubernetes_validate")
jsonschema = pytest.importorskip("jsonschema")

DEPLOY = ROOT / "deploy" / "kubernetes"
K8S_VERSION = "1.37.0"


def documents() -> list[dict]:
    docs = []
    for path in sorted(DEPLOY.glob("*.yaml")):
        docs += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    return docs


def of_kind(kind: str) -> list[dict]:
    return [doc for doc in documents() if doc["kind"] == kind]


def keda_validator():
    schema = json.loads((DEPLOY / "schema" / "keda.json").read_text())
    return jsonschema.Draft202012Validator(schema)


def test_built_in_kinds_pass_the_kubernetes_schemas_strictly():
    built_in = [doc for doc in documents() if not doc["apiVersion"].startswith("keda.sh/")]
    assert {doc["kind"] for doc in built_in} == {"Secret", "Deployment"}
    for doc in built_in:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)  # raises with the path on error


def test_the_strict_validation_would_catch_a_misspelt_field():
    deployment = of_kind("Deployment")[0]
    broken = json.loads(json.dumps(deployment))
    broken["spec"]["template"]["spec"]["containers"][0]["resource"] = {}  # 'resources' misspelt
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, K8S_VERSION, strict=True)


def test_keda_objects_pass_their_documented_schema():
    validator = keda_validator()
    keda = [doc for doc in documents() if doc["apiVersion"].startswith("keda.sh/")]
    assert {doc["kind"] for doc in keda} == {"ScaledObject", "TriggerAuthentication"}
    for doc in keda:
        errors = sorted(validator.iter_errors(doc), key=str)
        assert not errors, (doc["metadata"]["name"], [e.message for e in errors])


@pytest.mark.parametrize(
    "spoil",
    [
        lambda d: d["spec"]["triggers"][0]["metadata"].update(listname="prefork"),  # wrong case
        lambda d: d["spec"]["triggers"][0]["metadata"].update(listLength=10),  # not a string
        lambda d: d["spec"].pop("scaleTargetRef"),
        lambda d: d["spec"].update(minReplicas=1),
    ],
)
def test_the_keda_schema_catches_what_the_cluster_would_ignore_or_refuse(spoil):
    scaled = json.loads(json.dumps(of_kind("ScaledObject")[0]))
    spoil(scaled)
    assert list(keda_validator().iter_errors(scaled))


def _container(deployment: dict) -> dict:
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return container


def _env(container: dict) -> dict:
    return {e["name"]: e for e in container["env"]}


def test_one_deployment_per_pool_each_scaled_on_its_own_queue():
    deployments = {
        _container(d)["command"][_container(d)["command"].index("--pool") + 1]: d
        for d in of_kind("Deployment")
    }
    assert sorted(deployments) == sorted(POOLS)
    scaled = {s["spec"]["scaleTargetRef"]["name"]: s for s in of_kind("ScaledObject")}
    for pool, deployment in deployments.items():
        trigger = scaled[deployment["metadata"]["name"]]["spec"]["triggers"][0]
        assert trigger["type"] == "redis" and trigger["metadata"]["listName"] == queue_for(pool)
        assert trigger["authenticationRef"]["name"] in {
            a["metadata"]["name"] for a in of_kind("TriggerAuthentication")
        }


def test_each_pods_concurrency_is_its_cpu_request_and_its_url_a_secret_file():
    secret = of_kind("Secret")[0]
    for deployment in of_kind("Deployment"):
        container = _container(deployment)
        env = _env(container)
        field = env["WORKER_CONCURRENCY"]["valueFrom"]["resourceFieldRef"]
        assert field["resource"] == "requests.cpu" and field["containerName"] == container["name"]
        assert "cpu" in container["resources"]["requests"] and "--concurrency" not in container["command"]
        (mount,) = container["volumeMounts"]
        assert env["REDIS_URL_FILE"]["value"] == f"{mount['mountPath']}/redis-url"
        (volume,) = deployment["spec"]["template"]["spec"]["volumes"]
        assert volume["secret"]["secretName"] == secret["metadata"]["name"]
        assert "REDIS_URL" not in env  # the password never in the environment


def test_the_worker_only_compose_file_reads_the_url_from_a_secret():
    compose = yaml.safe_load((ROOT / "docker-compose.workers.yml").read_text())
    assert (
        set(compose["services"]) == {"worker-prefork", "worker-threads"}
        and "redis" not in compose["services"]
    )
    for service in compose["services"].values():
        assert service["environment"] == {"REDIS_URL_FILE": "/run/secrets/redis-url"}
        assert service["secrets"] == ["redis-url"]


@pytest.mark.redis
def test_a_deployments_worker_command_joins_with_a_url_file(redis_url, tmp_path):
    """The threads Deployment's command, as its pod would run it: the URL from a file, the
    concurrency from WORKER_CONCURRENCY (a request of cpu "2" gives "2")."""
    deployment = next(d for d in of_kind("Deployment") if "threads" in _container(d)["command"])
    command = list(_container(deployment)["command"])
    command[command.index("--nodename-file") + 1] = str(tmp_path / "node")
    url_file = tmp_path / "redis-url"
    url_file.write_text(redis_url + "\n")
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env.update(REDIS_URL_FILE=str(url_file), WORKER_CONCURRENCY="2", PYTHONPATH=str(ROOT))
    assert command[0] == "python"
    log = open(tmp_path / "worker.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, *command[1:]],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=_die_with_parent(),
    )
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "node").exists():
            assert proc.poll() is None and time.monotonic() < deadline, Path(
                tmp_path / "worker.log"
            ).read_text()
            time.sleep(0.05)
        node = (tmp_path / "node").read_text().strip()
        with make_backend(redis_url, "threads") as backend:
            assert node in backend.nodes
            info = backend.settings_info()["nodes"][node]
            assert info["concurrency"] == 2 and info["broker_rtt"]["n"] == 10
            records = backend.run_batch("sleep", 0, 3)
        assert {r["worker"] for r in records} <= set(backend.nodes)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()
        log.close()
