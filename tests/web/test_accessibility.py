"""Every page in headless Chromium at a phone's and a desktop's size: its touch targets meet
WCAG 2.2's 24 px minimum, axe-core finds no serious or critical violation, and on a phone
nothing scrolls sideways.

One service, one database and one browser serve the whole module, so the 120 checks take
about a minute. It runs on SQLite only: the pages render the same on either database, and what is
checked here is the HTML and CSS the browser gets.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from plugin.config import Config
from plugin.storage import secretbox
from plugin.storage.db import ensure_schema, get_engine, session_factory, transaction
from plugin.storage.models import Forum
from plugin.web.app import create_app
from tests.fakes.discourse import FakeDiscourse
from tests.fakes.discourse_connect import ConnectSite
from tests.fakes.server import served
from tests.helpers import LOOPBACK, add_test_forum
from tests.web.a11y_pages import PAGES, World, propose_pairings, seed
from tests.web.a11y_support import (
    axe_violations,
    describe_targets,
    describe_violations,
    small_targets,
)
from tests.web.admin.support import CONNECT_SECRET
from tests.web.browser_support import (
    DESKTOP,
    PHONE,
    By,
    chromium,
    needs_chromium,
    viewport,
)

pytestmark = needs_chromium

SIZES = {"phone": PHONE, "desktop": DESKTOP}


def _fake_forum() -> FakeDiscourse:
    """The forum alice, its admin, signs in through."""
    fake = FakeDiscourse(api_key="test-key", bot_username="mentor_bot")
    fake.add_user("alice", id=5, name="Alice Admin", admin=True)
    fake.add_group("community", id=40, members=["alice"])
    fake.add_group("mentors", id=43)
    fake.add_group("mentees", id=44)
    return fake


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[World]:
    """The service with seeded data, on a SQLite file of its own, and the fake forum."""
    url = f"sqlite:///{tmp_path_factory.mktemp('a11y') / 'mentorship.db'}"
    config = Config(
        database_url=url,
        secret_key="test-secret-key",
        base_url="http://127.0.0.1:8000",
        allowed_internal_hosts=LOOPBACK,
    )
    secretbox.configure(config)
    ensure_schema(get_engine(url))
    sessions = session_factory(get_engine(url))
    forum_id = add_test_forum(sessions).id
    site = ConnectSite(_fake_forum(), CONNECT_SECRET)
    holder = {}
    with site.serve() as forum_url, served(lambda e, s: holder["app"](e, s)) as base:
        with transaction(sessions) as db:
            row = db.get(Forum, forum_id)
            row.url, row.connect_secret = forum_url, CONNECT_SECRET
        config = replace(config, base_url=base)
        holder["app"] = create_app(config)
        world = World(base, config, sessions, forum_id, site)
        seed(world)
        yield world
    get_engine(url).dispose()
    site.forum.assert_valid()


@pytest.fixture(autouse=True)
def _keyring(world: World) -> None:
    """The module's service reads sealed forum secrets: every test needs its keyring (the
    suite's conftest resets the keyring after each test)."""
    secretbox.configure(world.config)


@pytest.fixture(scope="module")
def page_browser(world: World, tmp_path_factory) -> Iterator:
    """One headless Chromium for the module, alice signed in, a matching proposed."""
    with chromium(tmp_path_factory.mktemp("chromium")) as driver:
        secretbox.configure(world.config)
        propose_pairings(world, driver)
        yield driver


@pytest.fixture(params=list(SIZES), ids=list(SIZES))
def size(request) -> tuple[int, int]:
    """The viewport's width and height: a phone's, then a desktop's."""
    return SIZES[request.param]


@pytest.fixture(params=list(PAGES), ids=list(PAGES))
def on_page(request, world: World, page_browser, size):
    """The browser at the viewport size, on the page."""
    viewport(page_browser, *size)
    PAGES[request.param](world, page_browser)
    # Every page has a heading: without one the browser shows an error, not the page.
    assert page_browser.find_elements(By.TAG_NAME, "h1"), page_browser.page_source[:500]
    return page_browser


def test_every_target_is_at_least_24_px_or_spaced_or_inline(on_page):
    offenders = small_targets(on_page)
    assert not offenders, (
        f"targets under 24x24 CSS px on {on_page.current_url}:\n{describe_targets(offenders)}"
    )


def test_axe_finds_no_serious_or_critical_violation(on_page):
    violations = axe_violations(on_page)
    assert not violations, f"axe-core on {on_page.current_url}:\n{describe_violations(violations)}"


@pytest.mark.parametrize("size", [PHONE], ids=["phone"])
def test_nothing_scrolls_sideways_on_a_phone(on_page, size):
    # A wider page makes a phone zoom out (WCAG 1.4.10 Reflow), shrinking every target.
    widths = on_page.execute_script("return [innerWidth, document.documentElement.scrollWidth]")
    assert widths == [size[0], size[0]], f"{on_page.current_url} is {widths} px wide"
