"""What the local backends are, beyond the contract they share with every backend.

The contract itself (answers, records, errors, overruns, describe) is tests/contract.py,
run over every backend by tests/backends/test_contract.py; what a task can do to its process is
tests/backends/test_local_faults.py.
"""

from __future__ import annotations

import os
import sys

import pytest

import workloads
from producer import backends
from producer.settings import Settings
from tests.helpers import ORIGINAL

LOCAL = ["sequential", "threads", "processes"]


def test_no_local_backend_runs_a_task_in_this_process():
    """Processes spread tasks over their processes; threads share one child; sequential one thread."""
    with backends.create("processes", Settings(concurrency=2)) as b:
        pids = {r["pid"] for r in b.run_batch("sleep", 20, 4)}
        assert len(pids) == 2 and os.getpid() not in pids
        assert b.describe()["settings"]["processes"] == 2
    with backends.create("threads", Settings(concurrency=2)) as b:
        records = b.run_batch("sleep", 20, 4)
        assert len({r["pid"] for r in records}) == 1 and os.getpid() not in {r["pid"] for r in records}
        assert len({r["tid"] for r in records}) == 2
    with backends.create("sequential", Settings(concurrency=2)) as b:
        records = b.run_batch("sleep", 1, 4)
        assert len({(r["pid"], r["tid"]) for r in records}) == 1 and records[0]["pid"] != os.getpid()


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_user_file_with_out_list_signature_in_child_processes(tmp_path, method):
    path = tmp_path / "mine.py"
    path.write_text(ORIGINAL)
    spec = workloads.canonical(f"{path}:do_something")
    with backends.create("processes", Settings(concurrency=2, start_method=method, timeout=60)) as b:
        records = b.run_batch(spec, 1000, 3)
    assert [r["summary"] for r in records] == [workloads.run_task("squares", 1000)["summary"]] * 3


def test_backends_describe_themselves():
    backend = backends.create("processes", Settings(concurrency=3, start_method="spawn"))
    assert backend.describe() == {
        "name": "processes",
        "family": "local",
        "pool": None,
        "model": "processes",
        "via": "local",
        "shares_gil": False,
        "needs_broker": False,
        "concurrency": 3,
        "caveats": [],
        "settings": {"start_method": "spawn", "processes": 3, "threads_per_process": 1, "interpreter": None},
    }  # the interpreter is what the children say, once they run
    with backends.create("sequential", Settings(concurrency=3)) as sequential:
        assert sequential.describe()["concurrency"] == 1
        python = sequential.describe()["settings"]["interpreter"]
    assert python == workloads.interpreter() and python["executable"] == sys.executable
    celery = backends.create("celery-solo", Settings(broker_url="redis://127.0.0.1:1/0")).describe()
    assert (celery["family"], celery["pool"], celery["needs_broker"]) == ("celery", "solo", True)


def test_registry_suggests_a_name():
    from producer.errors import UsageError

    with pytest.raises(UsageError, match="did you mean 'threads'"):
        backends.spec("thread")
    assert backends.spec("celery-prefork").pool == "prefork"
    assert not backends.spec("processes").needs_broker


def test_every_backend_declares_its_model_and_where_it_runs():
    from producer.backends import MODELS, REGISTRY, SHARED_GIL_MODELS, VIA_BROKER, VIA_LOCAL

    for entry in REGISTRY.values():
        assert entry.model in MODELS, entry.name
        assert entry.via == (VIA_BROKER if entry.needs_broker else VIA_LOCAL)
        assert entry.shares_gil == (entry.model in SHARED_GIL_MODELS)
    models = {name: (e.model, e.via, e.shares_gil) for name, e in REGISTRY.items()}
    assert models["sequential"] == ("serial", "local", True)
    assert models["threads"] == ("threads", "local", True)
    assert models["processes"] == ("processes", "local", False)
    assert models["interpreters"] == ("interpreters", "local", False)
    assert models["celery-prefork"] == ("processes", "broker", False)
    assert models["celery-threads"] == ("threads", "broker", True)
    assert models["celery-solo"] == ("serial", "broker", True)
    assert models["celery-gevent"] == ("greenlets", "broker", True)


def test_an_unknown_model_is_refused():
    import pytest

    from producer.backends import BackendSpec

    with pytest.raises(ValueError, match="unknown model 'fibers'"):
        BackendSpec("x", "producer.backends.threads:ThreadsBackend", "x", "fibers")
