"""Property-based: whatever a visitor sends to the member pages, the answer is never a 5xx."""

from __future__ import annotations

import os
from urllib.parse import quote, quote_from_bytes

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plugin.domain.signups import valid_timezone
from plugin.storage.models import Feedback, Signup
from tests.helpers import hidden_inputs

# Each example is a real request against a real database: keep the count modest by default
# (HYPOTHESIS_EXAMPLES raises it for a longer hunt).
EXAMPLES = int(os.environ.get("HYPOTHESIS_EXAMPLES", "60"))
pages = settings(
    max_examples=EXAMPLES,
    deadline=None,
    # The database and client are set up once per test; examples share them on purpose.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Anything a browser can put in a form field (lone surrogates cannot be encoded at all).
# Named troublemakers beside random text: NUL (PostgreSQL refuses it), escapes, a BOM.
tricky_text = st.sampled_from(["\x00", "a\x00b", "\x1b[31m", "\ufeff", "\r\n", "x" * 2001])
any_text = st.one_of(
    st.text(st.characters(exclude_categories=["Cs"]), max_size=300),
    tricky_text,
    st.tuples(st.text(max_size=20), tricky_text).map("".join),
)
tricky_numbers = st.sampled_from(["²", "٣", "１", "1e3", "0x5", " 3 ", "-0", "9" * 5000, "10", "1"])
capacities = st.one_of(any_text, st.integers().map(str), tricky_numbers)
zones = st.one_of(any_text, st.sampled_from(["UTC", "Europe/Berlin", "Etc/GMT+5", "../etc"]))
FIELDS = ["about", "topics", "timezone", "capacity", "age_confirmed", "csrf_token"]
extra_fields = st.dictionaries(st.one_of(st.sampled_from(FIELDS), any_text), any_text, max_size=4)


@st.composite
def signup_forms(draw) -> dict[str, str]:
    """A sign-up form with any mix of plausible and hostile values."""
    form = {
        "about": draw(any_text),
        "topics": draw(any_text),
        "timezone": draw(zones),
        "capacity": draw(capacities),
        "age_confirmed": draw(st.sampled_from(["on", "", "off", "ON"])),
    }
    return {**form, **draw(extra_fields)}


def odd_tokens(real: str) -> st.SearchStrategy[str]:
    """Tokens as they may arrive in a path: any bytes, any text, the real one mangled."""
    mangled = st.tuples(st.integers(0, len(real)), any_text).map(
        lambda cut: real[: cut[0]] + quote(cut[1], safe="") + real[cut[0] :]
    )
    return st.one_of(
        st.binary(max_size=300).map(lambda b: quote_from_bytes(b, safe="")),
        any_text.map(lambda t: quote(t, safe="")),
        st.integers(1, 9000).map(lambda n: "A" * n),
        mangled,
    )


def csrf_of(client, path: str) -> str:
    return hidden_inputs(client.get(path).get_data(as_text=True))["csrf_token"]


def assert_kept_profile_is_valid(sessions) -> None:
    """Whatever was saved is a profile the rest of the service can rely on."""
    with sessions() as db:
        signup = db.query(Signup).one()
        if signup.state == "ready":
            assert 1 <= signup.capacity <= 10
            assert valid_timezone(signup.timezone)
            assert "\x00" not in signup.about + signup.topics


def test_any_signup_form_is_answered_below_500(client, sessions, signup_link):
    token = csrf_of(client, signup_link)

    @pages
    @given(form=signup_forms(), with_csrf=st.booleans())
    def post(form: dict[str, str], with_csrf: bool) -> None:
        data = {**form, "csrf_token": token} if with_csrf else form
        response = client.post(signup_link, data=data)
        assert response.status_code < 500
        if response.status_code == 400:
            assert 'name="csrf_token"' in response.get_data(as_text=True)  # the form again

    post()
    assert_kept_profile_is_valid(sessions)


def test_any_signup_token_is_answered_below_500(client, signup_link):
    real = signup_link.rsplit("/", 1)[1]

    @pages
    @given(token=odd_tokens(real), method=st.sampled_from(["GET", "POST"]))
    def visit(token: str, method: str) -> None:
        response = client.open(f"/signup/{token}", method=method, data={"capacity": "²"})
        assert response.status_code < 500

    visit()


def test_any_signup_body_is_answered_below_500(client, sessions, signup_link):
    content_types = st.sampled_from(
        [
            "application/x-www-form-urlencoded",
            "application/x-www-form-urlencoded; charset=latin-1",
            "multipart/form-data; boundary=x",
            "multipart/form-data",
            "text/plain",
            "application/json",
            "",
        ]
    )

    @pages
    @given(body=st.binary(max_size=500), content_type=content_types)
    def post(body: bytes, content_type: str) -> None:
        response = client.post(signup_link, data=body, content_type=content_type)
        assert response.status_code < 500

    post()
    assert_kept_profile_is_valid(sessions)


def test_any_feedback_form_is_answered_below_500(client, sessions, feedback_link):
    token = csrf_of(client, feedback_link)

    @pages
    @given(
        rating=st.sampled_from(["1", "5", "²", "4" * 5000, "", "6"]),
        comment=any_text,
        extra=extra_fields,
    )
    def post(rating: str, comment: str, extra: dict[str, str]) -> None:
        form = {"rating": rating, "comment": comment, **extra, "csrf_token": token}
        assert client.post(feedback_link, data=form).status_code < 500

    post()
    with sessions() as db:
        for row in db.query(Feedback):
            assert 1 <= row.rating <= 5 and len(row.comment or "") <= 1000


def test_any_feedback_token_is_answered_below_500(client, feedback_link):
    real = feedback_link.rsplit("/", 1)[1]

    @pages
    @given(token=odd_tokens(real), method=st.sampled_from(["GET", "POST"]))
    def visit(token: str, method: str) -> None:
        response = client.open(f"/feedback/{token}", method=method, data={"rating": "5"})
        assert response.status_code < 500

    visit()
