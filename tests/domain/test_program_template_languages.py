"""Program templates in several languages: the shipped translations and the file format."""

from __future__ import annotations

import json
import pathlib
import re

import pytest

from plugin.domain.programs.template_files import (
    BUILTIN,
    TemplateError,
    load_template,
    parse_template,
    pick_language,
    template_to_dict,
)
from plugin.i18n import LANGUAGES


def _steps(word: str, count: int = 6) -> list[dict]:
    return [
        {
            "title": f"{word} {i + 1}",
            "discussion": [f"{word} one.", f"{word} two.", f"{word} three."],
            "tip": f"{word} tip.",
        }
        for i in range(count)
    ]


def _bilingual(de_steps: int = 6) -> dict:
    """A valid English template with a German translation, fresh each call."""
    return {
        "format": 1,
        "title": "Test program",
        "description": "A program used in tests.",
        "steps": _steps("Step"),
        "translations": {
            "de": {
                "title": "Testprogramm",
                "description": "Ein Programm für Tests.",
                "steps": _steps("Schritt", de_steps),
            }
        },
    }


def _load(tmp_path: pathlib.Path, data: dict):
    path = tmp_path / "club.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return load_template(str(path))


def _refused(tmp_path: pathlib.Path, data: dict, message: str) -> None:
    with pytest.raises(TemplateError, match=re.escape(message)):
        _load(tmp_path, data)


# --- the shipped templates -------------------------------------------------------------------


@pytest.mark.parametrize("key", BUILTIN)
def test_builtin_is_written_in_every_supported_language(key: str) -> None:
    assert set(load_template(key).languages) == set(LANGUAGES)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("key", BUILTIN)
def test_builtin_has_eight_complete_steps_in_each_language(key: str, language: str) -> None:
    text = load_template(key).text(language)
    assert text.title and text.description
    assert len(text.steps) == 8
    for step in text.steps:
        assert step.title and step.tip
        assert 3 <= len(step.discussion) <= 5
        assert all(point for point in step.discussion)


@pytest.mark.parametrize("language", [code for code in LANGUAGES if code != "en"])
@pytest.mark.parametrize("key", BUILTIN)
def test_builtin_translation_is_not_a_copy_of_the_english(key: str, language: str) -> None:
    t = load_template(key)
    english, other = t.text("en"), t.text(language)
    assert other.title != english.title and other.description != english.description
    for en_step, step in zip(english.steps, other.steps, strict=True):
        assert step.title != en_step.title
        assert step.tip != en_step.tip
        assert not set(step.discussion) & set(en_step.discussion)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("key", BUILTIN)
def test_builtin_text_has_no_markdown_markers_in_any_language(key: str, language: str) -> None:
    # The bot posts these as Markdown: a leading '#', '*', '-' or '>' would change the layout.
    text = load_template(key).text(language)
    lines = [text.title, text.description]
    for step in text.steps:
        lines += [step.title, step.tip, *step.discussion]
    for line in (part for item in lines for part in item.splitlines()):
        assert not re.match(r"\s*([#*>+-]|\d+\.\s)", line), line


@pytest.mark.parametrize("key", BUILTIN)
def test_builtin_german_speaks_to_members_with_du(key: str) -> None:
    steps = load_template(key).text("de").steps
    words = set(re.findall(r"\w+", " ".join(p for s in steps for p in (*s.discussion, s.tip))))
    assert {"du", "dir", "dich"} <= words
    assert not {"Sie", "Ihnen", "Ihre"} & words  # the formal address


@pytest.mark.parametrize("key", BUILTIN)
def test_builtin_german_last_step_invites_to_mentor_next_round(key: str) -> None:
    last = load_template(key).text("de").steps[-1]
    assert any("nächsten Runde" in point for point in last.discussion)


def test_german_support_template_points_to_professional_and_crisis_help() -> None:
    steps = load_template("support").text("de").steps
    text = " ".join(p for s in steps for p in (*s.discussion, s.tip))
    assert "keine Therapie" in text
    assert "Krisentelefon" in text
    assert "TelefonSeelsorge" in text


def test_german_career_template_knows_german_working_life() -> None:
    steps = load_template("career").text("de").steps
    text = " ".join(p for s in steps for p in (*s.discussion, s.tip))
    for word in ("Arbeitszeugnis", "Probezeit", "Bewerbung", "Gehaltsverhandlung"):
        assert word in text


# --- the file format -------------------------------------------------------------------------


def test_file_without_translations_is_english_only(tmp_path: pathlib.Path) -> None:
    data = _bilingual()
    del data["translations"]
    t = _load(tmp_path, data)
    assert t.languages == ("en",)
    assert t.text("de").steps[0].title == "Step 1"


def test_file_with_a_german_translation_reads_german(tmp_path: pathlib.Path) -> None:
    t = _load(tmp_path, _bilingual())
    assert t.languages == ("en", "de")
    assert t.text("de").title == "Testprogramm"
    assert t.text("de").steps[5].title == "Schritt 6"
    assert t.text("en").steps[5].title == "Step 6"


def test_file_in_german_only_names_its_language(tmp_path: pathlib.Path) -> None:
    data = _bilingual() | {"language": "de"}
    data |= data.pop("translations")["de"]
    t = _load(tmp_path, data)
    assert t.languages == ("de",)
    assert t.text("en").title == "Testprogramm"


def test_translation_with_another_number_of_steps_is_refused(tmp_path: pathlib.Path) -> None:
    _refused(
        tmp_path,
        _bilingual(de_steps=7),
        "translations.de.steps has 7 steps but the 'en' steps have 6; "
        "every language needs the same number of steps",
    )


def test_translation_in_an_unknown_language_names_the_supported_ones(
    tmp_path: pathlib.Path,
) -> None:
    data = _bilingual()
    data["translations"]["fr"] = data["translations"].pop("de")
    _refused(tmp_path, data, 'translations: unknown language "fr"; use one of en, de')


def test_unknown_language_of_the_file_is_refused(tmp_path: pathlib.Path) -> None:
    _refused(tmp_path, _bilingual() | {"language": "german"}, 'language: unknown language "german"')


def test_translation_repeating_the_files_own_language_is_refused(tmp_path: pathlib.Path) -> None:
    data = _bilingual()
    data["translations"]["en"] = data["translations"]["de"]
    _refused(tmp_path, data, "translations.en repeats the file's own language 'en'")


def test_translated_step_missing_a_field_is_refused(tmp_path: pathlib.Path) -> None:
    data = _bilingual()
    del data["translations"]["de"]["steps"][3]["tip"]
    _refused(tmp_path, data, "translations.de.steps[3]: missing 'tip'")


def test_translation_missing_its_description_is_refused(tmp_path: pathlib.Path) -> None:
    data = _bilingual()
    del data["translations"]["de"]["description"]
    _refused(tmp_path, data, "translations.de: missing 'description'")


def test_translation_with_an_unknown_key_is_refused(tmp_path: pathlib.Path) -> None:
    data = _bilingual()
    data["translations"]["de"]["schritte"] = []
    _refused(tmp_path, data, "translations.de: unknown key 'schritte'")


def test_translated_template_round_trips_through_template_to_dict(tmp_path: pathlib.Path) -> None:
    t = _load(tmp_path, _bilingual())
    stored = json.loads(json.dumps(template_to_dict(t)))
    assert parse_template(stored, source="stored", default_key="other") == t


# --- which language is read ------------------------------------------------------------------


def test_pick_language_takes_the_wanted_one_when_present() -> None:
    assert pick_language(("en", "de"), "de") == "de"


def test_pick_language_folds_regional_codes() -> None:
    assert pick_language(("en", "de"), "de_CH") == "de"


def test_pick_language_falls_back_to_english() -> None:
    assert pick_language(("de", "en"), "fr") == "en"


def test_pick_language_falls_back_to_the_templates_own_without_english() -> None:
    assert pick_language(("de",), "en") == "de"
