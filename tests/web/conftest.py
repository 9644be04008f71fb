"""Fixtures of the browser tests: the service on a real server thread, and Chromium."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from plugin.web.app import create_app
from tests.fakes.server import served


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
