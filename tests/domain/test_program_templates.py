"""Program template files: the builtin content and the loader's validation."""

from __future__ import annotations

import json
import pathlib
import re

import pytest

from plugin.domain.programs.template_files import (
    BUILTIN,
    ProgramTemplate,
    TemplateError,
    load_template,
    parse_template,
    template_to_dict,
    templates_dir,
)


def _valid(steps: int = 6) -> dict:
    """A minimal valid template as parsed JSON, fresh each call so tests can mutate it."""
    return {
        "format": 1,
        "title": "Test program",
        "description": "A program used in tests.",
        "steps": [
            {
                "title": f"Step {i + 1}",
                "discussion": ["First point.", "Second point.", "Third point."],
                "tip": "A practical tip.",
            }
            for i in range(steps)
        ],
    }


def _write(tmp_path: pathlib.Path, data: object, name: str = "my.json") -> str:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return str(path)


def _load_bad(tmp_path: pathlib.Path, data: object, message: str) -> None:
    """Loading `data` from my.json fails with `message`, prefixed by the file's path."""
    path = _write(tmp_path, data)
    with pytest.raises(TemplateError, match=re.escape(message)) as info:
        load_template(path)
    assert str(info.value).startswith(f"{path}: ")


# --- the builtin templates -------------------------------------------------------------------


def test_templates_dir_holds_the_builtin_program_files() -> None:
    for key in BUILTIN:
        assert (templates_dir() / "programs" / f"{key}.json").is_file()


@pytest.mark.parametrize("key", BUILTIN)
def test_builtin_loads_with_enough_steps_and_points(key: str) -> None:
    t = load_template(key)
    assert t.key == key
    assert t.title and t.description
    assert 6 <= len(t.steps) <= 8
    for step in t.steps:
        assert 3 <= len(step.discussion) <= 5
        assert step.title and step.tip


@pytest.mark.parametrize("key", BUILTIN)
def test_builtin_first_step_is_getting_to_know_each_other(key: str) -> None:
    assert "know each other" in load_template(key).steps[0].title.lower()


@pytest.mark.parametrize("key", BUILTIN)
def test_builtin_early_step_agrees_one_goal(key: str) -> None:
    titles = [s.title.lower() for s in load_template(key).steps[:3]]
    assert any("goal" in t for t in titles)


@pytest.mark.parametrize("key", BUILTIN)
def test_builtin_last_step_is_a_reflection(key: str) -> None:
    last = load_template(key).steps[-1]
    assert "looking back" in last.title.lower() or "reflect" in last.title.lower()
    # The closing step invites the mentee to mentor others in the next round.
    assert any("next round" in p for p in last.discussion)


@pytest.mark.parametrize("key", BUILTIN)
def test_builtin_text_has_no_markdown_markers_at_line_starts(key: str) -> None:
    # The bot posts these as Markdown: a leading '#', '*', '-' or '>' would change the layout.
    t = load_template(key)
    texts = [t.title, t.description]
    for step in t.steps:
        texts += [step.title, step.tip, *step.discussion]
    for text in texts:
        for line in text.splitlines():
            assert not re.match(r"\s*([#*>+-]|\d+\.\s)", line), line


def test_support_template_says_mentor_is_not_a_therapist_and_points_to_help() -> None:
    t = load_template("support")
    text = " ".join(p for s in t.steps for p in (*s.discussion, s.tip)).lower()
    assert "not a therapist" in text
    assert "crisis line" in text
    assert "counsellor" in text


# --- files given by path ---------------------------------------------------------------------


def test_file_given_by_path_loads_with_its_stem_as_key(tmp_path: pathlib.Path) -> None:
    t = load_template(_write(tmp_path, _valid(), name="writing-club.json"))
    assert t.key == "writing-club"
    assert t.title == "Test program"
    assert len(t.steps) == 6
    assert t.steps[0].discussion == ("First point.", "Second point.", "Third point.")


def test_key_in_the_file_overrides_the_stem(tmp_path: pathlib.Path) -> None:
    data = _valid() | {"key": "writing"}
    assert load_template(_write(tmp_path, data)).key == "writing"


def test_surrounding_whitespace_is_stripped(tmp_path: pathlib.Path) -> None:
    data = _valid()
    data["steps"][0]["tip"] = "  A tip.\n"
    assert load_template(_write(tmp_path, data)).steps[0].tip == "A tip."


def test_round_trip_through_template_to_dict_is_identity() -> None:
    for key in BUILTIN:
        t = load_template(key)
        d = template_to_dict(t)
        again = parse_template(json.loads(json.dumps(d)), source="stored", default_key="other")
        assert again == t
        assert isinstance(again, ProgramTemplate)


# --- bad files -------------------------------------------------------------------------------


def test_bad_json_names_line_and_column(tmp_path: pathlib.Path) -> None:
    _load_bad(
        tmp_path, '{\n  "title": "x",\n  "steps": [,]\n}', "not valid JSON (line 3, column 13)"
    )


def test_not_an_object_is_rejected(tmp_path: pathlib.Path) -> None:
    _load_bad(tmp_path, [1, 2], "top level must be a JSON object, not a list")


def test_missing_steps_is_rejected(tmp_path: pathlib.Path) -> None:
    data = _valid()
    del data["steps"]
    _load_bad(tmp_path, data, "missing 'steps'")


def test_too_few_steps_is_rejected(tmp_path: pathlib.Path) -> None:
    _load_bad(tmp_path, _valid(steps=5), "steps has 5 steps; 6 to 52 needed")


def test_two_discussion_points_is_rejected(tmp_path: pathlib.Path) -> None:
    data = _valid()
    data["steps"][2]["discussion"] = ["One.", "Two."]
    _load_bad(tmp_path, data, "steps[2].discussion has 2 points; 3 to 5 needed")


def test_six_discussion_points_is_rejected(tmp_path: pathlib.Path) -> None:
    data = _valid()
    data["steps"][4]["discussion"] = [f"Point {i}." for i in range(6)]
    _load_bad(tmp_path, data, "steps[4].discussion has 6 points; 3 to 5 needed")


def test_empty_discussion_point_is_rejected(tmp_path: pathlib.Path) -> None:
    data = _valid()
    data["steps"][1]["discussion"][2] = "   "
    _load_bad(tmp_path, data, "steps[1].discussion[2] is empty")


def test_unknown_top_level_key_is_rejected_with_a_suggestion(tmp_path: pathlib.Path) -> None:
    data = _valid() | {"titel": "Oops"}
    _load_bad(tmp_path, data, "unknown key 'titel'; did you mean 'title'?")


def test_unknown_step_key_is_rejected(tmp_path: pathlib.Path) -> None:
    data = _valid()
    data["steps"][3]["dicussion"] = data["steps"][3].pop("discussion")
    _load_bad(tmp_path, data, "steps[3]: unknown key 'dicussion'; did you mean 'discussion'?")


def test_missing_step_field_is_rejected(tmp_path: pathlib.Path) -> None:
    data = _valid()
    del data["steps"][0]["tip"]
    _load_bad(tmp_path, data, "steps[0]: missing 'tip'")


def test_empty_tip_is_rejected(tmp_path: pathlib.Path) -> None:
    data = _valid()
    data["steps"][5]["tip"] = ""
    _load_bad(tmp_path, data, "steps[5].tip is empty")


def test_empty_title_is_rejected(tmp_path: pathlib.Path) -> None:
    _load_bad(tmp_path, _valid() | {"title": " "}, "title is empty")


def test_over_long_point_is_rejected(tmp_path: pathlib.Path) -> None:
    data = _valid()
    data["steps"][0]["discussion"][1] = "x" * 301
    _load_bad(tmp_path, data, "steps[0].discussion[1] is 301 characters long; at most 300 allowed")


def test_over_long_step_title_is_rejected(tmp_path: pathlib.Path) -> None:
    data = _valid()
    data["steps"][1]["title"] = "t" * 121
    _load_bad(tmp_path, data, "steps[1].title is 121 characters long; at most 120 allowed")


def test_wrong_type_is_rejected(tmp_path: pathlib.Path) -> None:
    data = _valid()
    data["steps"][0]["tip"] = 3
    _load_bad(tmp_path, data, "steps[0].tip must be a string, not a number")


def test_unsupported_format_is_rejected(tmp_path: pathlib.Path) -> None:
    _load_bad(tmp_path, _valid() | {"format": 2}, "format 2 is not supported")


def test_key_that_is_not_a_slug_is_rejected(tmp_path: pathlib.Path) -> None:
    _load_bad(tmp_path, _valid() | {"key": "My Program"}, "key 'My Program' must be lowercase")


def test_duplicate_key_is_rejected(tmp_path: pathlib.Path) -> None:
    text = json.dumps(_valid())[:-1] + ', "title": "Again"}'
    _load_bad(tmp_path, text, "key 'title' appears twice in one object")


def test_missing_file_is_rejected(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(TemplateError, match=r"^x\.json: file not found$"):
        load_template("x.json")
    missing = str(tmp_path / "nope.json")
    with pytest.raises(TemplateError, match=re.escape(f"{missing}: file not found")):
        load_template(missing)


def test_unknown_builtin_name_is_rejected() -> None:
    with pytest.raises(TemplateError) as info:
        load_template("carer")
    assert str(info.value) == (
        "unknown template 'carer': use career, skills, support, or a path to a .json file"
    )


def test_parse_template_names_the_source() -> None:
    with pytest.raises(TemplateError, match=r"^program 7: steps must be a list, not null$"):
        parse_template(_valid() | {"steps": None}, source="program 7", default_key="p")
