"""One validation for the CLI and the API: ``Settings.check()`` gives both the same one line."""

from __future__ import annotations

import pytest

from producer.api import compare
from producer.errors import UsageError
from producer.settings import Settings
from tests.helpers import assert_one_line_error, run_cli

CASES = [
    ({"tasks": 0}, ["--tasks", "0"], "--tasks must be between 1 and 100,000, not 0"),
    ({"concurrency": -1}, ["--concurrency", "-1"], "--concurrency must be between 1 and 1,024, not -1"),
    ({"backends": ["nosuch"]}, ["--backends", "nosuch"], "no such backend: 'nosuch'"),
    ({"backends": ["thread"]}, ["--backends", "thread"], "did you mean 'threads'?"),
    ({"backends": []}, ["--backends", ""], "--backends names no backend; choose from sequential, threads"),
    ({"timeout": 0}, ["--timeout", "0"], "--timeout must be positive and finite"),
    (
        {"chunks": 5, "tasks": 2},
        ["--chunks", "5", "--tasks", "2"],
        "--chunks must be between 1 and --tasks (2)",
    ),
    (
        {"prefetch": 4, "backends": ["threads"]},
        ["--prefetch", "4", "--backends", "threads"],
        "--prefetch apply to Celery backends, and none is selected",
    ),
    (
        {"workers": {"prefork": 2}, "backends": ["celery-threads"]},
        ["--workers", "prefork=2", "--backends", "celery-threads"],
        "--workers names pool 'prefork', but no celery-prefork backend is selected",
    ),
    (
        {"workers": {"prefork": 99}, "backends": ["celery-prefork"]},
        ["--workers", "prefork=99", "--backends", "celery-prefork"],
        "--workers takes pool=count with count 1 to 64, e.g. prefork=3; not 'prefork=99'",
    ),
]


def _message(api: dict) -> str:
    with pytest.raises(UsageError) as caught:
        compare("squares", **api)
    return str(caught.value)


@pytest.mark.parametrize("api, argv, needle", CASES, ids=[c[2][:40] for c in CASES])
def test_the_api_refuses_bad_values_with_the_clis_own_line(api, argv, needle):
    said = _message(api)
    assert needle in said and "\n" not in said
    proc = run_cli("compare", *argv, timeout=60)
    assert_one_line_error(proc, 2, needle)
    assert proc.stderr.strip() == f"poolbench: error: {said}"


def test_check_returns_the_settings_it_accepts():
    good = Settings(backends=("sequential", "threads"), tasks=4, concurrency=2)
    assert good.check() is good


def test_settings_built_by_hand_are_checked_alike():
    with pytest.raises(UsageError, match="--repeat must be between 1 and 1,000, not 0"):
        Settings(repeat=0).check()
    with pytest.raises(UsageError, match="--call-ms must be between 1 and 600,000"):
        Settings(call_ms=0.5).check()
    with pytest.raises(UsageError, match="--backends names no backend"):
        Settings(backends=()).check()
    with pytest.raises(UsageError, match="--workers sizes the embedded stack"):
        Settings(
            backends=("sequential", "celery-prefork"), workers={"prefork": 2}, broker_url="redis://x"
        ).check()


def test_the_api_refuses_a_value_of_the_wrong_type_in_one_line():
    with pytest.raises(UsageError, match=r"^--tasks must be a whole number, not '4'$"):
        compare("squares", tasks="4")
    with pytest.raises(UsageError, match=r"^--timeout must be positive and finite, .*; not 'soon'$"):
        compare("squares", timeout="soon")
