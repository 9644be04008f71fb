"""The forum settings page names each setting for people; the form keeps its field names."""

from __future__ import annotations

import re

import pytest

from plugin.resources import manifest
from tests.web.admin.support import post, settings_form, text

PAGE = "/admin/forum/settings"


@pytest.mark.parametrize("kind", ["discourse", "zulip"])
def test_every_forum_setting_has_a_label_and_a_hint_in_the_manifest(kind):
    settings = manifest()["forums"][kind]["settings"]
    assert all(spec.get("label") and spec.get("description") for spec in settings.values())


def test_the_settings_page_labels_each_field_by_its_manifest_label(staff):
    page = text(staff.get(PAGE))
    labels = dict(re.findall(r'<label for="([a-z_]+)">([^<]+?) <span class="hint">', page))
    assert labels["request_budget_per_minute"] == "API calls per minute"
    assert labels["webhook_secret"] == "Webhook secret"


def test_no_field_is_labelled_with_its_raw_key(staff):
    page = text(staff.get(PAGE))
    labels = re.findall(r'<label for="([a-z_]+)">([^<]+?) <span class="hint">', page)
    assert labels and all(key != label for key, label in labels)


def test_a_field_error_names_the_setting_by_its_label(staff):
    response = post(staff, PAGE, settings_form(request_budget_per_minute="0"), PAGE)
    assert "API calls per minute must be at least 1" in text(response)
