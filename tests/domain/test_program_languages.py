"""A program's language: which steps, title and description its members read."""

from __future__ import annotations

import json
import logging
import pathlib

import pytest

from plugin.domain.programs import service
from plugin.domain.programs.template_files import TemplateError, load_template
from plugin.engine.adapter import ForumGroup, ForumUser
from plugin.forums.connections import InputError
from plugin.storage.db import transaction
from plugin.storage.models import Program

RESOLVED = service.Resolved(
    ForumGroup(40, "community"),
    ForumGroup(43, "mentors"),
    ForumGroup(44, "mentees"),
    [ForumUser(7, "pat")],
)

GERMAN_CAREER = load_template("career").text("de")
ENGLISH_CAREER = load_template("career").text("en")


def _create(sessions, forum, template: str = "career", **kwargs) -> Program:
    """A program created and committed; returned detached, as the rows' data is all we read."""
    with transaction(sessions) as db:
        program = service.create_program(db, forum, RESOLVED, template=template, **kwargs)
    return program


def _file(tmp_path: pathlib.Path, languages: tuple[str, ...], name: str = "club.json") -> str:
    """A custom template file written in `languages` (the first is the file's own)."""

    def text(code: str) -> dict:
        return {
            "title": f"Club ({code})",
            "description": f"A club program ({code}).",
            "steps": [
                {"title": f"{code} step {i}", "discussion": ["a.", "b.", "c."], "tip": "t."}
                for i in range(6)
            ],
        }

    own, *others = languages
    data = {"language": own, **text(own)}
    if others:
        data["translations"] = {code: text(code) for code in others}
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


# --- creating a program ----------------------------------------------------------------------


def test_program_created_in_german_stores_its_language(sessions, forum) -> None:
    assert _create(sessions, forum, language="de").language == "de"


def test_program_language_defaults_to_english(sessions, forum) -> None:
    assert _create(sessions, forum).language == "en"


def test_program_created_with_a_regional_code_stores_the_language(sessions, forum) -> None:
    assert _create(sessions, forum, language="de_AT").language == "de"


def test_program_in_an_unsupported_language_is_refused(sessions, forum) -> None:
    with pytest.raises(InputError, match="language 'fr' is not supported: use one of en, de"):
        _create(sessions, forum, language="fr")


def test_german_program_without_a_title_takes_the_german_template_title(sessions, forum) -> None:
    assert _create(sessions, forum, language="de").title == GERMAN_CAREER.title


def test_program_keeps_every_language_of_its_template(sessions, forum) -> None:
    program = _create(sessions, forum, language="de")
    assert service.template_languages(program) == ["en", "de"]


def test_describe_says_the_programs_language(sessions, forum) -> None:
    assert service.describe(_create(sessions, forum, language="de"))["language"] == "de"


# --- steps in a language ---------------------------------------------------------------------


def test_steps_of_a_german_program_are_german(sessions, forum) -> None:
    steps = service.steps(_create(sessions, forum, language="de"))
    assert [s["title"] for s in steps] == [s.title for s in GERMAN_CAREER.steps]


def test_steps_in_english_are_english_in_a_german_program(sessions, forum) -> None:
    steps = service.steps(_create(sessions, forum, language="de"), "en")
    assert steps[0]["discussion"] == list(ENGLISH_CAREER.steps[0].discussion)


def test_steps_in_german_for_a_german_member_of_an_english_program(sessions, forum) -> None:
    steps = service.steps(_create(sessions, forum), "de")
    assert steps[7]["tip"] == GERMAN_CAREER.steps[7].tip


def test_steps_in_a_missing_language_fall_back_to_english(sessions, forum) -> None:
    steps = service.steps(_create(sessions, forum, language="de"), "fr")
    assert steps[0]["title"] == ENGLISH_CAREER.steps[0].title


def test_custom_file_with_german_steps_gives_a_german_program_german_steps(
    sessions, forum, tmp_path
) -> None:
    program = _create(sessions, forum, _file(tmp_path, ("en", "de")), language="de")
    assert service.steps(program)[2]["title"] == "de step 2"
    assert program.title == "Club (de)"


def test_custom_english_file_in_a_german_program_falls_back_to_english_and_warns(
    sessions, forum, tmp_path, caplog
) -> None:
    with caplog.at_level(logging.WARNING, logger="plugin.domain.programs.service"):
        program = _create(sessions, forum, _file(tmp_path, ("en",)), language="de")
    assert service.steps(program)[0]["title"] == "en step 0"
    assert "has no 'de' steps; members read them in 'en'" in caplog.text


def test_custom_german_file_in_an_english_program_reads_german(sessions, forum, tmp_path) -> None:
    program = _create(sessions, forum, _file(tmp_path, ("de",)))
    assert service.steps(program)[0]["title"] == "de step 0"


def test_program_stored_before_translations_reads_its_steps_in_any_language() -> None:
    stored = {"format": 1, "key": "career", "title": "Old", "description": "Old one."}
    stored["steps"] = [{"title": "Only", "discussion": ["a", "b", "c"], "tip": "t"}] * 6
    program = Program(title="Old", template=json.dumps(stored), language="de")
    assert service.steps(program)[0]["title"] == "Only"
    assert service.steps(program, "en")[0]["title"] == "Only"


# --- title and description -------------------------------------------------------------------


def test_template_title_reads_in_the_members_language(sessions, forum) -> None:
    program = _create(sessions, forum)
    assert service.program_title(program, "de") == GERMAN_CAREER.title
    assert service.program_title(program) == ENGLISH_CAREER.title


def test_title_an_admin_chose_is_the_same_in_every_language(sessions, forum) -> None:
    program = _create(sessions, forum, title="Karrierekreis", language="de")
    assert service.program_title(program, "en") == "Karrierekreis"


def test_description_reads_in_the_asked_language(sessions, forum) -> None:
    program = _create(sessions, forum)
    assert service.program_description(program, "de") == GERMAN_CAREER.description
    assert service.program_description(program) == ENGLISH_CAREER.description


# --- editing the steps -----------------------------------------------------------------------


def _edited(steps: list[dict], count: int | None = None) -> list[dict]:
    edited = [dict(s) for s in steps[: count or len(steps)]]
    edited[0] = {**edited[0], "title": "Ein neuer Anfang"}
    return edited


def test_editing_the_german_steps_keeps_the_english_ones(sessions, forum) -> None:
    with transaction(sessions) as db:
        program = service.create_program(db, forum, RESOLVED, template="career", language="de")
        dropped = service.save_steps(program, _edited(service.steps(program)))
        assert dropped == []
        assert service.steps(program)[0]["title"] == "Ein neuer Anfang"
        assert service.steps(program, "en")[0]["title"] == ENGLISH_CAREER.steps[0].title


def test_changing_the_number_of_steps_drops_the_other_languages(sessions, forum) -> None:
    with transaction(sessions) as db:
        program = service.create_program(db, forum, RESOLVED, template="career", language="de")
        dropped = service.save_steps(program, _edited(service.steps(program), 7))
        assert dropped == ["en"]
        assert service.template_languages(program) == ["de"]
        assert service.steps(program, "en")[0]["title"] == "Ein neuer Anfang"


def test_edited_steps_that_break_the_rules_are_refused(sessions, forum) -> None:
    with transaction(sessions) as db:
        program = service.create_program(db, forum, RESOLVED, template="career")
        steps = service.steps(program)
        steps[1] = {**steps[1], "tip": ""}
        with pytest.raises(TemplateError, match=r"^The steps: steps\[1\]\.tip is empty$"):
            service.save_steps(program, steps)


def test_edited_german_steps_that_break_the_rules_name_the_step_alone(sessions, forum) -> None:
    with transaction(sessions) as db:
        program = service.create_program(db, forum, RESOLVED, template="career", language="de")
        steps = service.steps(program)
        steps[2] = {**steps[2], "title": ""}
        with pytest.raises(TemplateError, match=r"^The steps: steps\[2\]\.title is empty$"):
            service.save_steps(program, steps)
