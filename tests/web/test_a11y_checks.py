"""The accessibility checks themselves, on small pages made to pass or fail them: the
target-size check names what WCAG 2.2 SC 2.5.8 refuses and spares its exceptions, and the
axe-core run reports serious and critical violations."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import pytest

from tests.web.a11y_support import axe_violations, describe_violations, small_targets
from tests.web.browser_support import PHONE, chromium, needs_chromium, viewport

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def driver(tmp_path_factory) -> Iterator:
    """One headless Chromium for the module, at a phone's size."""
    with chromium(tmp_path_factory.mktemp("chromium")) as browser:
        viewport(browser, *PHONE)
        yield browser


def show(driver, body: str, head: str = '<html lang="en"><title>Test</title>') -> None:
    """Load a page whose body is `body` (no margins, so positions are as written)."""
    style = "<style>body{margin:0;font:16px/1.5 sans-serif} button{padding:0;border:0}</style>"
    driver.get("data:text/html;charset=utf-8," + quote(f"{head}{style}<body>{body}"))


def selectors(driver) -> list[str]:
    """The selectors of the shown page's undersized targets."""
    return [o["selector"] for o in small_targets(driver)]


def test_two_small_buttons_side_by_side_are_both_named(driver):
    show(driver, '<main><button id="a" style="width:16px;height:16px">a</button>'
                 '<button id="b" style="width:16px;height:16px">b</button></main>')  # fmt: skip
    assert selectors(driver) == ["button#a", "button#b"]


def test_the_offender_is_named_by_its_path_and_size(driver):
    show(driver, '<main><p style="margin:0"><a href="#">x</a> <a href="#">y</a></p></main>')
    offenders = small_targets(driver)
    assert offenders[0]["selector"] == "main > p > a:nth-of-type(1)"
    assert offenders[0]["height"] < 24 and offenders[0]["text"] == "x"


def test_a_small_target_with_24_px_of_room_around_its_centre_passes(driver):
    show(driver, '<button style="width:16px;height:16px">a</button>'
                 '<button style="width:16px;height:16px;margin-left:12px">b</button>')  # fmt: skip
    assert selectors(driver) == []


def test_a_small_checkbox_right_beside_its_label_is_named(driver):
    show(driver, '<input type="checkbox" id="c" style="margin:0">'
                 '<label for="c">I agree</label>')  # fmt: skip
    assert selectors(driver) == ["input#c"]


def test_a_small_checkbox_inside_its_label_is_one_target_with_it(driver):
    show(driver, '<label style="display:block"><input type="checkbox"> I agree</label>'
                 '<label style="display:block"><input type="checkbox"> Me too</label>')  # fmt: skip
    assert selectors(driver) == []


def test_links_side_by_side_are_not_a_sentence(driver):
    show(driver, '<p><a href="#" id="a">1</a> <a href="#" id="b">2</a></p>')
    assert selectors(driver) == ["a#a", "a#b"]


def test_a_link_in_a_sentence_is_spared(driver):
    show(driver, '<p>Read <a href="#">this</a> and <a href="#">that</a> first.</p>')
    assert selectors(driver) == []


def test_a_hidden_control_is_not_a_target(driver):
    show(driver, '<button style="display:none">a</button><input type="hidden" name="t">'
                 '<button style="width:8px;height:8px;visibility:hidden">b</button>'
                 '<button style="width:8px;height:8px;visibility:hidden">c</button>')  # fmt: skip
    assert selectors(driver) == []


def test_axe_reports_a_page_without_a_language(driver):
    show(driver, "<main><h1>Hello</h1></main>", head="<html><title>Test</title>")
    assert [v["id"] for v in axe_violations(driver)] == ["html-has-lang"]


def test_axe_reports_a_field_without_a_label_with_its_selector(driver):
    show(driver, '<main><h1>Form</h1><input type="text" id="nameless"></main>')
    violations = axe_violations(driver)
    assert "label (critical)" in describe_violations(violations)
    assert "#nameless" in describe_violations(violations)


def test_axe_leaves_out_moderate_findings(driver):
    show(driver, "<h1>Outside any landmark</h1><p>text</p>")  # region: moderate
    assert axe_violations(driver) == []
