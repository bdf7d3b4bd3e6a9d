"""``poolbench load``: bad input gets one line and exit 2, before any work starts."""

from __future__ import annotations

import pytest

from producer import cli


@pytest.mark.parametrize(
    "argv, says",
    [
        (["--rate", "0"], "--rate must be above 0"),
        (["--rate", "-3"], "--rate must be above 0"),
        ([], "--rate is required"),
        (["--rate", ","], "--rate is required"),
        (["--rate", "ten"], "--rate takes numbers"),
        (["--rate", "nan"], "--rate must be above 0"),
        (["--rate", "10", "--duration", "5"], "a step needs 100"),
        (["--rate", "1e12"], "the generator sends at most"),
        (["--rate", "50", "--duration", "0"], "--duration must be above 0"),
        (["--rate", "50", "--backends", "interpreters"], "load feeds local threads"),
        (["--rate", "50", "--backends", "scripted-family"], "test double"),
        (["--rate", "50", "--chunks", "4"], "--chunks groups calls"),
        (["--rate", "50", "--no-result"], "--no-result stores no results"),
        (["--rate", "50", "--python", "/usr/bin/python3"], "--python is not in load yet"),
        (["--rate", "50", "--backends", "threads", "--workers", "prefork=2"], "--workers"),
        (["--rate", "50", "--backends", "nope"], "nope"),
        (["--rate", "50", "--plot", "x.jpg"], "--plot writes .png or .svg"),
        (["--rate", "50", "--arrivals", "bursty"], "invalid choice"),
        (["--rate", "50", "--broker", "redis://127.0.0.1:1/0", "--workers", "prefork=2"], "--workers"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv, says, capsys):
    assert cli.main(["load", *argv]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("poolbench: error:") and says in err, err


def test_load_is_listed_in_help(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    assert "load" in capsys.readouterr().out
