"""The cgroup CPU quota: parsers on sample file contents, and the real files of this machine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.helpers import ROOT
from worker import cgroup
from worker.cgroup import Quota

V2_ONLY = (
    "35 24 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate\n"
)
HYBRID = (
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
)
DOCKER_V1 = (
    "1040 1031 0:27 /docker/abc /sys/fs/cgroup/cpu,cpuacct ro,nosuid - cgroup cgroup rw,cpu,cpuacct\n"
    "1041 1031 0:28 /docker/abc /sys/fs/cgroup/memory ro,nosuid - cgroup cgroup rw,memory\n"
)


def files(contents: dict[str, str]):
    return contents.get


def test_cpu_max_and_cfs_are_parsed():
    assert cgroup.parse_cpu_max("max 100000\n") is None
    assert cgroup.parse_cpu_max("150000 100000\n") == 1.5
    assert cgroup.parse_cpu_max("50000 100000") == 0.5
    assert cgroup.parse_cpu_max("nonsense") is None
    assert cgroup.parse_cfs("-1\n", "100000\n") is None
    assert cgroup.parse_cfs("200000\n", "100000\n") == 2.0
    assert cgroup.parse_cfs("", "100000") is None


def test_proc_cgroup_and_mountinfo_are_parsed():
    unified, controllers = cgroup.parse_proc_cgroup(
        "4:memory:/x\n2:cpu,cpuacct:/docker/abc\n0::/user.slice\n"
    )
    assert unified == "/user.slice"
    assert controllers == {"memory": "/x", "cpu": "/docker/abc", "cpuacct": "/docker/abc"}
    mounts = cgroup.parse_mountinfo(HYBRID)
    assert [(m.point, m.fstype) for m in mounts] == [
        ("/sys/fs/cgroup/cpu", "cgroup"),
        ("/sys/fs/cgroup/cpuacct", "cgroup"),
        ("/sys/fs/cgroup/memory", "cgroup"),
        ("/sys/fs/cgroup/unified", "cgroup2"),
    ]
    assert "cpu" in mounts[0].options and "cpu" not in mounts[1].options


def test_v2_container_quota_as_compose_cpus_sets_it():
    """``cpus: 1`` in docker/compose.cpus.yml becomes ``cpu.max = 100000 100000``."""
    read = files({"/sys/fs/cgroup/cpu.max": "100000 100000\n"})
    quota = cgroup.read_quota(read, V2_ONLY, "0::/\n")
    assert quota == Quota(1.0, "cgroup v2 /sys/fs/cgroup/cpu.max: 100000 100000")


def test_v2_limit_on_an_ancestor_and_the_tightest_wins():
    read = files(
        {
            "/sys/fs/cgroup/a/cpu.max": "200000 100000",
            "/sys/fs/cgroup/a/b/cpu.max": "max 100000",
        }
    )
    assert cgroup.read_quota(read, V2_ONLY, "0::/a/b\n").cpus == 2.0
    read = files(
        {
            "/sys/fs/cgroup/a/cpu.max": "200000 100000",
            "/sys/fs/cgroup/a/b/cpu.max": "150000 100000",
        }
    )
    assert cgroup.read_quota(read, V2_ONLY, "0::/a/b\n").cpus == 1.5


def test_v1_hybrid_layout_like_this_machine():
    read = files(
        {
            "/sys/fs/cgroup/cpu/bench/cpu.cfs_quota_us": "50000\n",
            "/sys/fs/cgroup/cpu/bench/cpu.cfs_period_us": "100000\n",
            "/sys/fs/cgroup/cpu/cpu.cfs_quota_us": "-1\n",
            "/sys/fs/cgroup/cpu/cpu.cfs_period_us": "100000\n",
        }
    )
    quota = cgroup.read_quota(read, HYBRID, "2:cpuacct:/\n1:cpu:/bench\n0::/\n")
    assert quota.cpus == 0.5
    assert quota.source.startswith("cgroup v1 /sys/fs/cgroup/cpu/bench/cpu.cfs_quota_us")


def test_v1_docker_without_a_cgroup_namespace():
    """The container sees its own cgroup path, mounted as the root of the hierarchy."""
    read = files(
        {
            "/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us": "100000",
            "/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us": "100000",
        }
    )
    assert cgroup.read_quota(read, DOCKER_V1, "4:cpu,cpuacct:/docker/abc\n").cpus == 1.0


def test_no_limit_or_no_files_means_no_quota():
    assert cgroup.read_quota(files({"/sys/fs/cgroup/cpu.max": "max 100000"}), V2_ONLY, "0::/") is None
    assert cgroup.read_quota(files({}), HYBRID, "1:cpu:/\n0::/\n") is None
    assert cgroup.read_quota(files({}), "", "") is None


def test_usable_and_whole_cpus():
    assert cgroup.usable_cpus(2, None) == 2
    assert cgroup.usable_cpus(2, Quota(1.5, "x")) == 1.5
    assert cgroup.usable_cpus(2, Quota(4.0, "x")) == 2
    assert cgroup.whole_cpus(2, Quota(1.5, "x")) == 2
    assert cgroup.whole_cpus(4, Quota(0.5, "x")) == 1
    assert cgroup.whole_cpus(4, None) == 4


def test_this_machines_files_agree_with_a_direct_read():
    """The real files: the reader finds the quota the kernel applies to this process's cgroup."""
    quota = cgroup.read_quota(cgroup.read_file)
    unified, controllers = cgroup.parse_proc_cgroup(Path("/proc/self/cgroup").read_text())
    mounts = cgroup.parse_mountinfo(Path("/proc/self/mountinfo").read_text())
    v1 = [m for m in mounts if m.fstype == "cgroup" and "cpu" in m.options and m.root == "/"]
    v2 = [m for m in mounts if m.fstype == "cgroup2" and m.root == "/"]
    if v1 and controllers.get("cpu") == "/":
        point = Path(v1[0].point)
        expected = cgroup.parse_cfs(
            (point / "cpu.cfs_quota_us").read_text(), (point / "cpu.cfs_period_us").read_text()
        )
    elif v2 and unified == "/" and Path(v2[0].point, "cpu.max").exists():
        expected = cgroup.parse_cpu_max(Path(v2[0].point, "cpu.max").read_text())
    elif v2 and unified == "/" and not v1:
        expected = None  # the root cgroup of a v2 tree has no cpu.max: no quota
    else:
        pytest.skip("this process sits in a nested cgroup; the sample-content tests cover that layout")
    assert (quota.cpus if quota else None) == expected


def _writable_cpu_cgroup() -> tuple[str, str] | None:
    """A fresh child cgroup with the cpu controller, and the file to set its quota in."""
    mounts = cgroup.parse_mountinfo(Path("/proc/self/mountinfo").read_text())
    unified, controllers = cgroup.parse_proc_cgroup(Path("/proc/self/cgroup").read_text())
    name = f"poolbench-test-{uuid.uuid4().hex[:8]}"
    for m in mounts:
        if m.fstype == "cgroup" and "cpu" in m.options and controllers.get("cpu") == "/" and m.root == "/":
            folder = os.path.join(m.point, name)
            quota_file = "cpu.cfs_quota_us"
        elif m.fstype == "cgroup2" and unified == "/" and m.root == "/":
            if "cpu" not in Path(m.point, "cgroup.subtree_control").read_text().split():
                continue
            folder = os.path.join(m.point, name)
            quota_file = "cpu.max"
        else:
            continue
        try:
            os.mkdir(folder)
        except OSError:
            continue
        return folder, quota_file
    return None


def test_a_real_quota_is_read_by_the_producer_and_the_worker():
    """A child process in a cgroup with half a CPU: both sides see 0.5, the worker sizes 1 slot,
    and convoy starts 1 load task by default."""
    made = _writable_cpu_cgroup()
    if made is None:
        pytest.skip("no writable cgroup with the cpu controller here (needs root)")
    folder, quota_file = made
    try:
        Path(folder, quota_file).write_text("50000" if quota_file.endswith("_us") else "50000 100000")
        code = (
            "import json; from producer.measure import host; import worker.settings as w; "
            "import producer.convoy.flags as convoy; "
            "print(json.dumps({**host.cpus(), 'worker': w.available_cpus(), "
            "'convoy': convoy.available_cpus()}))"
        )
        procs = os.path.join(folder, "cgroup.procs")
        proc = subprocess.run(
            ["sh", "-c", f'echo $$ > {procs} && exec "$0" -c "$1"', sys.executable, code],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        assert proc.returncode == 0, proc.stderr
        seen = json.loads(proc.stdout)
        assert seen["cpu_quota"]["cpus"] == 0.5
        assert folder in seen["cpu_quota"]["source"]
        assert seen["cpus_usable"] == 0.5 and seen["cpus_affinity"] >= 1
        assert seen["worker"] == 1 and seen["convoy"] == 1
    finally:
        os.rmdir(folder)
