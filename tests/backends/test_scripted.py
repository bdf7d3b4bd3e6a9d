"""Every verification and timeout path, through the scripted backend: no Redis, no sleeping.

The baseline here is the scripted backend with an honest script, so every batch runs in
this process in microseconds; the backend under test is a scripted one that loses,
doubles, changes, fails, crashes, delays or hangs chosen tasks.
"""

from __future__ import annotations

import json

import pytest

from producer import backends, commands, session
from producer.backends.scripted import HONEST, Script, installed
from producer.errors import EXIT_FAILED, EXIT_OK, EXIT_TIMEOUT, BatchTimeout
from producer.settings import Output, Settings

TASKS = 4
SIZE = 100


def settings(*names: str, **changes) -> Settings:
    base = Settings(
        workload="squares", size=SIZE, tasks=TASKS, repeat=2, warmup=1, timeout=300, backends=names
    )
    return base.replace(**changes)


def rounds_with(script: Script, **changes):
    """Run the honest baseline and a backend following ``script``; return (baseline, scripted) runs."""
    with installed(script, name="under-test"):
        baseline, run = session.rounds(settings("scripted", "under-test", **changes), "squares", SIZE)
    return baseline, run


def test_an_honest_script_verifies_like_any_backend():
    baseline, run = rounds_with(HONEST)
    assert baseline.ok and run.ok and run.problems == []
    assert run.checksum == baseline.checksum and len(run.measured) == 2
    assert run.info["family"] == "local" and run.info["settings"]["script"]["lose"] == []


def test_a_lost_result_is_missing():
    _, run = rounds_with(Script(lose={2}))
    assert run.problems == [f"1 of {TASKS} results missing"]
    assert not run.ok and run.checksum is None  # no batch was clean: nothing to call its answer
    assert [sorted(t["index"] for t in b.tasks) for b in run.batches] == [[0, 1, 3]] * 3


def test_a_result_that_comes_back_twice_is_doubled():
    _, run = rounds_with(Script(duplicate={1}))
    assert run.problems == ["task 1 returned twice"]


def test_a_different_answer_differs_from_the_baseline():
    _, run = rounds_with(Script(wrong={3}))
    assert len(run.problems) == 1
    assert run.problems[0].startswith(f"1 of {TASKS} results differ from the sequential baseline (task 3: ")


def test_an_answer_for_a_task_never_sent_is_unexpected():
    _, run = rounds_with(Script(stray={7}))
    assert run.problems == ["unexpected results for tasks [7]"]
    assert [t["index"] for t in run.batches[0].tasks] == [0, 1, 2, 3, 7]  # kept, in task order


def test_an_exception_is_reported_with_its_type_and_message():
    _, run = rounds_with(Script(raises={0: ValueError("no good at size 100")}))
    assert run.problems == ["task 0 raised ValueError: no good at size 100"]


def test_a_task_that_killed_its_process_is_named_with_its_exit():
    _, run = rounds_with(Script(crash={2: -9}))
    assert run.problems == ["task 2 killed its process (signal 9, SIGKILL)"]


def test_a_problem_is_reported_once_however_many_rounds_have_it():
    _, run = rounds_with(Script(lose={0}, duplicate={1}), repeat=5)
    assert run.problems == ["task 1 returned twice", f"1 of {TASKS} results missing"]
    assert len(run.batches) == 6


def test_a_problem_in_one_round_fails_the_backend_but_a_clean_round_still_gives_its_answer():
    baseline, run = rounds_with(Script(lose={0}, batches={2}))
    assert run.problems == [f"1 of {TASKS} results missing"]
    assert not run.ok and run.checksum == baseline.checksum


def test_a_hung_task_overruns_names_itself_and_skips_the_later_rounds():
    _, run = rounds_with(Script(hang={1}, batches={1}))
    assert run.timed_out and not run.ok
    assert run.problems == [
        "under-test: batch overran --timeout 300 s with 1 of 4 tasks completed; "
        "still running, and stopped: task 1"
    ]
    assert [b.round for b in run.batches] == [0]  # the warm-up; rounds 1 and 2 were not run
    assert (run.fold.records, run.fold.measured) == (TASKS, 0)  # the cut batch's first task: nowhere


def test_a_delay_on_the_scripted_clock_overruns_without_sleeping():
    _, run = rounds_with(Script(delay={2: 301.0}))
    assert run.timed_out and run.batches == []
    assert "with 2 of 4 tasks completed; still running, and stopped: task 2" in run.problems[0]


def test_a_delay_within_the_timeout_shows_in_the_task_times_only():
    _, run = rounds_with(Script(delay={1: 30.0}))
    assert run.ok
    spans = {t["index"]: t["ended"] - t["started"] for t in run.measured[0].tasks}
    starts = {t["index"]: t["started"] for t in run.measured[0].tasks}
    assert spans[1] >= 30.0 > spans[0] and starts[2] - starts[1] >= 30.0
    assert run.measured[0].wall_s < 30.0  # nobody slept


def test_scripts_count_batches_from_the_first_warm_up():
    with installed(Script(lose={0}, batches={1}), name="second-only") as entry:
        backend = backends.create(entry.name, Settings(timeout=300))
        assert [len(backend.run_batch("squares", 10, 2)) for _ in range(3)] == [2, 1, 2]


def test_an_overrun_raises_batch_timeout_from_run_batch_itself():
    with installed(Script(hang={0}), name="hangs") as entry:
        backend = backends.create(entry.name, Settings(timeout=300))
        with pytest.raises(BatchTimeout) as caught:
            backend.run_batch("squares", 10, 3)
    assert (caught.value.completed, caught.value.tasks, caught.value.running) == (0, 3, [0])


def test_answers_are_judged_against_the_baseline_alone_even_a_wrong_one():
    with installed(Script(wrong={0}), name="wrong-baseline"):
        base, honest = session.rounds(settings("wrong-baseline", "scripted"), "squares", SIZE)
    assert base.problems == [] and base.checksum != honest.checksum  # a wrong answer looks clean alone
    assert honest.problems[0].startswith("1 of 4 results differ from the sequential baseline")


def test_a_baseline_that_overruns_its_first_batch_leaves_nothing_to_compare():
    with installed(Script(hang={0}), name="hung-baseline"):
        base, other = session.rounds(settings("hung-baseline", "scripted"), "squares", SIZE)
    assert base.timed_out and other.batches == []
    assert other.problems == ["not run: the hung-baseline baseline overran --timeout in its first batch"]


@pytest.mark.parametrize(
    "script, code",
    [(HONEST, EXIT_OK), (Script(lose={1}), EXIT_FAILED), (Script(hang={3}, batches={2}), EXIT_TIMEOUT)],
)
def test_the_cli_exit_code_follows_the_document(script, code, capsys):
    with installed(script, name="under-test"):
        assert commands.compare(settings("scripted", "under-test"), Output(json_path="-")) == code
    doc = json.loads(capsys.readouterr().out)
    result = doc["results"][1]
    assert (doc["ok"], result["ok"], result["timed_out"]) == (code == 0, code == 0, code == EXIT_TIMEOUT)


def test_a_session_of_scripted_backends_is_a_whole_document():
    with installed(Script(duplicate={0}), name="under-test"):
        doc = session.run(settings("scripted", "under-test"))
    assert doc["ok"] is False and doc["results"][1]["problems"] == ["task 0 returned twice"]
    assert doc["verdict"]["kind"] in ("cpu-bound", "gil-releasing", "io-bound", "mixed", "undecided")
    json.dumps(doc)
