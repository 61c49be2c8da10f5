"""`--help` and usage errors as a user reads them: plain text, every command's summary in full.

The CLI prints Click's plain help (Rich's would cost ~70 ms of imports a call); Click alone would cut
each summary to one line ending in "...", which `tournament.cli.help_format` must prevent.
"""

from __future__ import annotations

import os
import subprocess

import pytest
import typer.main
from typer.core import TyperGroup

from tests.cli.conftest import TOURNAMENT
from tournament.cli.app import app


def tournament(*args: str, expect: int) -> subprocess.CompletedProcess[str]:
    """The installed command, in an 80-column terminal (where Click wraps help)."""
    env = {**os.environ, "COLUMNS": "80"}
    result = subprocess.run(
        [str(TOURNAMENT), *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    assert result.returncode == expect, result.stderr
    return result


def listed_commands(help_text: str) -> dict[str, str]:
    """The "Commands:" section as {name: summary}, with wrapped lines joined back together."""
    assert "\nCommands:\n" in help_text, help_text
    listed: dict[str, str] = {}
    name = ""
    for line in help_text.split("\nCommands:\n", 1)[1].splitlines():
        if not line.strip():
            break
        if line.startswith("  ") and not line.startswith("   "):
            name, _, text = line.strip().partition(" ")
            listed[name] = text.strip()
        else:
            listed[name] += " " + line.strip()
    return listed


def summaries(*path: str) -> dict[str, str]:
    """What each command of the group at `path` should show: the first paragraph of its help."""
    group = typer.main.get_command(app)
    for name in path:
        assert isinstance(group, TyperGroup)
        group = group.commands[name]
    assert isinstance(group, TyperGroup)
    return {
        name: " ".join((command.help or "").split("\n\n")[0].split())
        for name, command in group.commands.items()
    }


@pytest.mark.parametrize("path", [(), ("strategy",), ("schedule",)], ids=lambda p: " ".join(p) or "root")
def test_help_lists_every_command_with_its_whole_summary(path: tuple[str, ...]) -> None:
    expected = summaries(*path)
    listed = listed_commands(tournament(*path, "--help", expect=0).stdout)
    assert list(listed) == list(expected)
    assert listed == expected
    assert not any(text.endswith("...") for text in listed.values())


def test_help_summaries_are_wrapped_to_the_terminal() -> None:
    text = tournament("--help", expect=0).stdout
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "╭" not in text
    assert "Rounds per match.  [default: 1000]" in tournament("run", "--help", expect=0).stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("run", "--bogus"), "No such option: --bogus"),
        (("run", "--rounds", "many"), "Invalid value for '--rounds'"),
        (("rnu",), "No such command 'rnu'. Did you mean 'run'?"),
        (("strategy", "frob"), "No such command 'frob'."),
        (("match", "show"), "Missing argument 'MATCH_ID'."),
    ],
    ids=" ".join,
)
def test_usage_error_names_the_problem_and_the_help(args: tuple[str, ...], message: str) -> None:
    result = tournament(*args, expect=2)
    assert f"Error: {message}" in result.stderr
    assert "--help' for help." in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
