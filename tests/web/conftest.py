"""Fixtures of the browser tests: the service on a real server thread, and Chromium."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from plugin.web.app import create_app
from tests.fakes.server import served
from tests.web.pages_support import feedback_path, signup_path


@pytest.fixture
def service(config):
    """The service on 127.0.0.1; MENTORSHIP_BASE_URL is where it really listens."""
    holder = {}
    with served(lambda environ, start: holder["app"](environ, start)) as base:
        holder["app"] = create_app(replace(config, base_url=base))
        yield base


@pytest.fixture
def browser(tmp_path: Path):
    """Headless Chromium (the test module skips when it is not installed)."""
    from tests.web.browser_support import chromium

    with chromium(tmp_path) as driver:
        yield driver


@pytest.fixture
def signup_link(sessions, config, forum) -> str:
    """The path of a fresh pending sign-up's personal link."""
    return signup_path(sessions, config.secret_key, forum.id)


@pytest.fixture
def feedback_link(sessions, config, forum) -> str:
    """The path of a mentee's rating link for a completed pairing."""
    return feedback_path(sessions, config.secret_key, forum.id)
