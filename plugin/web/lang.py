"""The pages' language: which one a request gets, its catalog, and the Jinja i18n hooks.

English is written in the templates and code (the msgids); other languages come from
templates/locales/<code>/LC_MESSAGES/pages.po. The .po is read at run time with Babel and
turned into a gettext catalog in memory, once per process: no compile step, so a checkout,
an editable install and a wheel (which ships templates/ whole) read the same file. A missing
or fuzzy translation shows the English text.

To update the catalog after changing a page (the msgids come from the templates and
plugin/web, plus the `N_` texts of plugin/domain/signups.py and directory.py):

    pybabel extract -F babel.cfg -o /tmp/pages.pot .
    pybabel update -i /tmp/pages.pot -d templates/locales -D pages --no-fuzzy-matching

then translate the new entries; tests/web/test_catalog.py fails until every one is.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from io import BytesIO
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations
from flask import Flask, g, has_request_context, request

from plugin import i18n
from plugin.resources import data_path

DOMAIN = "pages"


def catalog_path(language: str) -> str:
    """Where a language's catalog of the pages lives (in a checkout or a wheel)."""
    return str(data_path("templates/locales") / language / "LC_MESSAGES" / f"{DOMAIN}.po")


@cache
def translations(language: str) -> NullTranslations:
    """The gettext catalog of a language; English (and an unknown one) is the msgids."""
    if language == i18n.DEFAULT or language not in i18n.LANGUAGES:
        return NullTranslations()
    with open(catalog_path(language), "rb") as po:
        catalog = read_po(po, locale=language, domain=DOMAIN)
    mo = BytesIO()
    write_mo(mo, catalog, use_fuzzy=False)  # fuzzy entries stay English until reviewed
    mo.seek(0)
    return Translations(mo, domain=DOMAIN)


def use(language: str) -> None:
    """Show this request's pages in `language` (a member's, once their link is read)."""
    g.page_language = language if language in i18n.LANGUAGES else i18n.DEFAULT


def current() -> str:
    """This request's language: the one set with `use`, else the browser's Accept-Language."""
    if not has_request_context():
        return i18n.DEFAULT
    if "page_language" not in g:
        g.page_language = i18n.from_accept_language(list(request.accept_languages))
    return str(g.page_language)


def _translated(value: object) -> object:
    if isinstance(value, i18n.Text):
        return gettext(value.msgid, **value.params)
    return value


def gettext(msgid: str, **params: object) -> str:
    """`msgid` in this request's language, with `%(name)s` placeholders filled."""
    text = translations(current()).gettext(msgid)
    if not params:
        return text
    return text % {k: _translated(v) for k, v in params.items()}


def ngettext(singular: str, plural: str, num: int, **params: object) -> str:
    """The form for `num` in this request's language; `%(num)d` is the number."""
    text = translations(current()).ngettext(singular, plural, num)
    return text % {"num": num, **{k: _translated(v) for k, v in params.items()}}


def shown(text: str) -> str:
    """A text from below the web layer, translated when it is an `i18n.Text`."""
    return str(_translated(text))


def when(value: datetime | None, zone: str | None = None) -> str:
    """A date and time in this request's language, in `zone` (UTC by default, and named)."""
    if value is None:
        return ""
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    tz = ZoneInfo(zone) if zone else UTC
    text = format_datetime(aware, "short", tzinfo=tz, locale=current())
    return f"{text} {zone or 'UTC'}"


def decimal(value: float) -> str:
    """A rating average to one place, with this request's decimal sign (4.5, 4,5)."""
    return format_decimal(value, "0.0", locale=current())


def decimal_short(value: float) -> str:
    """A number to at most two places, without trailing zeros (7, 1.5, 8.64; 1,5 in German)."""
    return format_decimal(value, "0.##", locale=current())


def _raw_gettext(msgid: str) -> str:
    # Jinja's new-style gettext does the escaping and the `%` formatting itself.
    return translations(current()).gettext(msgid)


def _raw_ngettext(singular: str, plural: str, num: int) -> str:
    return translations(current()).ngettext(singular, plural, num)


def init_app(app: Flask) -> None:
    """Jinja's i18n extension over these catalogs, `page_lang` and the `when` filter."""
    app.jinja_env.add_extension("jinja2.ext.i18n")
    app.jinja_env.policies["ext.i18n.trimmed"] = True  # msgids without the layout's line breaks
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        _raw_gettext, _raw_ngettext, newstyle=True
    )
    app.jinja_env.filters["when"] = when
    app.jinja_env.filters["shown"] = shown
    app.jinja_env.filters["decimal"] = decimal
    app.context_processor(lambda: {"page_lang": current()})
