"""Fixtures of the CLI tests: a fresh SQLite database, and `mentorship` run in-process."""

from __future__ import annotations

import pytest

from plugin.cli import run
from plugin.storage.db import get_engine
from tests.cli.support import BASE, Result, forum_add
from tests.helpers import LOOPBACK


@pytest.fixture
def db_url(tmp_path, monkeypatch) -> str:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    monkeypatch.setenv("MENTORSHIP_DATABASE_URL", url)
    monkeypatch.setenv("MENTORSHIP_BASE_URL", BASE)
    monkeypatch.setenv("MENTORSHIP_ALLOWED_INTERNAL_HOSTS", ",".join(LOOPBACK))
    monkeypatch.delenv("MENTORSHIP_SECRET_KEY", raising=False)
    yield url
    get_engine(url).dispose()


@pytest.fixture
def run_cli(db_url, capsys):
    def call(*argv: str) -> Result:
        capsys.readouterr()
        code = run(list(argv))
        out, err = capsys.readouterr()
        return Result(code, out, err)

    return call


@pytest.fixture
def live(run_cli, fake) -> str:
    """A forum named `forum` pointing at the fake Discourse."""
    assert run_cli(*forum_add(fake.url)).code == 0
    return "forum"
