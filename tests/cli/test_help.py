"""`--help` tells an operator what each command and option does, and what comes next."""

from __future__ import annotations

import argparse
import json

import pytest

from plugin.cli import build_parser, run
from plugin.resources import data_path


def help_of(capsys, *argv: str) -> str:
    with pytest.raises(SystemExit) as exited:
        run([*argv, "--help"])
    assert exited.value.code == 0
    return " ".join(capsys.readouterr().out.split())  # wrapping aside


def leaves(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """(command words, parser) of every command that runs something."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield path, parser
    for sub in subs:
        for name, child in sub.choices.items():
            yield from leaves(child, (*path, name))


def test_program_create_help_lists_every_shipped_template_with_its_title(capsys):
    text = help_of(capsys, "program", "create")
    files = sorted(data_path("templates/programs").glob("*.json"))
    assert files
    for path in files:
        title = json.loads(path.read_text(encoding="utf-8"))["title"]
        assert f"{path.stem} {title}" in text


def test_every_option_of_every_command_says_what_it_does():
    commands = list(leaves(build_parser()))
    assert len(commands) > 10
    silent = [
        f"{' '.join(words)} {action.dest}"
        for words, parser in commands
        for action in parser._actions
        if not (action.help or "").strip()
    ]
    assert silent == []


def test_an_option_with_a_default_names_it_in_the_help(capsys):
    text = help_of(capsys, "serve")
    assert "port to listen on (default: 8000)" in text
    assert "address to listen on (default: 127.0.0.1)" in text


def test_the_top_level_help_names_the_usual_order_and_the_readme_sections(capsys):
    text = help_of(capsys)
    order = ["forum add", "program create", "program open", "match --program", "worker"]
    positions = [text.index(f"mentorship {words}") for words in order]
    assert positions == sorted(positions)
    for section in ("Quick start", "Connect a Discourse forum", "Running a program"):
        assert f'"{section}"' in text


def test_forum_add_help_offers_no_check(capsys):
    assert "--no-check store without asking the forum" in help_of(capsys, "forum", "add")
