"""Every text the pages show has a German translation (issue 13).

The msgids are extracted the way a translator's `pybabel extract -F babel.cfg` does, from
the templates and the Python the pages use, and checked against the German catalog.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from plugin import i18n
from plugin.web import lang

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
COUNTS = {"count", "num"}  # a singular may say "one" instead of the number


def extracted() -> dict[str | tuple[str, str], str]:
    """Every msgid the pages use (a pair for plural forms) -> where it was found."""
    with open(ROOT / "babel.cfg", encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found: dict[str | tuple[str, str], str] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map
    ):
        msgid = message if isinstance(message, str) else tuple(message[:2])
        found.setdefault(msgid, f"{filename}:{lineno}")
    return found


def catalog(language: str) -> Catalog:
    with open(lang.catalog_path(language), "rb") as po:
        return read_po(po, locale=language)


def problems(msgids: dict[str | tuple[str, str], str], translated: Catalog) -> list[str]:
    """What is missing, empty, fuzzy or has other placeholders than its msgid."""
    found = []
    for msgid, where in msgids.items():
        entry = translated.get(msgid[0] if isinstance(msgid, tuple) else msgid)
        if entry is None or entry.fuzzy:
            found.append(f"{where}: {msgid!r} is {'fuzzy' if entry else 'not translated'}")
            continue
        forms = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        wanted = set(PLACEHOLDER.findall(" ".join(msgid) if isinstance(msgid, tuple) else msgid))
        for form in forms:
            have = set(PLACEHOLDER.findall(form or ""))
            if not form:
                found.append(f"{where}: {msgid!r} has an empty translation")
            elif have - wanted or (wanted - have) - (COUNTS if isinstance(msgid, tuple) else set()):
                found.append(f"{where}: {msgid!r} has placeholders {sorted(have)}")
    return found


@pytest.fixture(scope="module")
def msgids() -> dict[str | tuple[str, str], str]:
    return extracted()


def test_the_pages_have_texts_to_translate(msgids):
    # Extraction reads the templates, plugin/web and the form errors of the sign-up page.
    assert "Save my sign-up" in msgids and "Steps saved." in msgids
    assert "Please say a few words about yourself." in msgids
    assert ("%(num)d pair created.", "%(num)d pairs created.") in msgids


@pytest.mark.parametrize("language", [code for code in i18n.LANGUAGES if code != i18n.DEFAULT])
def test_every_page_text_is_translated(msgids, language):
    assert problems(msgids, catalog(language)) == []


def test_a_new_untranslated_text_is_caught(msgids):
    added = {**msgids, "A sentence nobody translated yet.": "templates/pages/new.html:1"}
    assert problems(added, catalog("de")) == [
        "templates/pages/new.html:1: 'A sentence nobody translated yet.' is not translated"
    ]


def test_a_fuzzy_translation_is_caught(msgids):
    german = catalog("de")
    german["Steps saved."].flags.add("fuzzy")
    assert any("'Steps saved.' is fuzzy" in p for p in problems(msgids, german))


def test_a_translation_that_drops_a_placeholder_is_caught(msgids):
    german = catalog("de")
    german["Thank you, %(name)s!"].string = "Danke!"
    assert any("'Thank you, %(name)s!' has placeholders" in p for p in problems(msgids, german))


def test_an_untranslated_text_shows_in_english(app):
    with app.test_request_context(headers={"Accept-Language": "de"}):
        assert lang.gettext("A sentence nobody translated yet.") == (
            "A sentence nobody translated yet."
        )
        assert lang.gettext("Steps saved.") == "Schritte gespeichert."
