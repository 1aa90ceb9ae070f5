"""The README is the user's guide: it must name every setting and only commands that exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from api.cli import app
from schemas.settings import Settings, Topics

README = (Path(__file__).parents[2] / "README.md").read_text()


@pytest.mark.parametrize("name", [n for n in Settings.model_fields if n != "topics"])
def test_every_setting_is_documented(name: str) -> None:
    assert f"STRIKEFLOW_{name.upper()}" in README


def test_every_topic_setting_is_documented() -> None:
    row = next(line for line in README.splitlines() if "STRIKEFLOW_TOPIC_TICKS" in line)
    for name in Topics.model_fields:
        assert f"_{name.upper()}" in row, name


def test_the_two_commands_are_make_demo_and_make_test() -> None:
    assert "make demo" in README
    assert "make test" in README
    ci = (Path(__file__).parents[2] / ".ci" / "run").read_text()
    assert re.search(r"^make test$", ci, re.MULTILINE)


def _commands() -> set[tuple[str, ...]]:
    import click
    import typer.main

    root = typer.main.get_command(app)
    found: set[tuple[str, ...]] = set()

    def walk(command: click.Command, path: tuple[str, ...]) -> None:
        found.add(path)
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, (*path, name))

    walk(root, ())
    return found


def test_every_strikeflow_command_in_the_readme_exists() -> None:
    commands = _commands()
    mentioned = re.findall(r"`strikeflow ((?:[a-z]+ ?)+)", README)
    assert mentioned
    groups = {c[:-1] for c in commands if len(c) > 1}
    for words in mentioned:
        parts = tuple(words.split())
        prefixes = [c for c in commands if c and parts[: len(c)] == c]
        assert prefixes, f"no command `strikeflow {words}`"
        longest = max(prefixes, key=len)
        # the words after a group must name one of its commands; after a command, arguments
        assert longest == parts or longest not in groups, f"no command `strikeflow {words}`"
