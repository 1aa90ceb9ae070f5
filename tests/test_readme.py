"""The README is the user's guide: it must name every setting and only commands that exist."""

from __future__ import annotations

import re

import pytest

from api.cli import app
from schemas.settings import Settings, Topics
from tests.paths import REPO

README = (REPO / "README.md").read_text()


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
    ci = (REPO / ".ci" / "run").read_text()
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


def test_the_package_table_names_every_package() -> None:
    """A newcomer finds the room for any change in one look: every package of the layered
    folders has its row (deeper subpackages belong to their parent's row)."""
    table = README.split("## Where things are", 1)[1].split("\n## ", 1)[0]
    rows = set(re.findall(r"^\| `([\w/]+/)` \|", table, re.MULTILINE))
    packages = {
        f"{init.parent.relative_to(REPO).as_posix()}/"
        for top in ("flows", "api", "sinks", "schemas", "dashboards")
        for init in [REPO / top / "__init__.py", *(REPO / top).glob("*/__init__.py")]
        if init.exists()
    }
    packages.discard("flows/")
    packages.discard("sinks/")
    packages.discard("schemas/migrations/")  # SQL files, part of the schemas row
    assert packages <= rows, sorted(packages - rows)
