"""MENTORSHIP_RETENTION_DAYS (docs/operator-interface.md): days processed rows are kept."""

from __future__ import annotations

import pytest

from plugin.config import ConfigError, load_config


def _load(**env: str):
    return load_config({"MENTORSHIP_DATABASE_URL": "sqlite://", **env})


def test_retention_defaults_to_30_days():
    assert _load().retention_days == 30


def test_retention_takes_a_whole_number_of_days():
    assert _load(MENTORSHIP_RETENTION_DAYS=" 7 ").retention_days == 7


@pytest.mark.parametrize("value", ["0", "-3", "1.5", "thirty", "+3", "3_0", "٣", "9" * 5000])
def test_retention_other_than_a_positive_whole_number_is_a_config_error(value):
    with pytest.raises(ConfigError, match="MENTORSHIP_RETENTION_DAYS"):
        _load(MENTORSHIP_RETENTION_DAYS=value)
