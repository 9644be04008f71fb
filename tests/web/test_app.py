"""The application's own routes: the front page."""

from __future__ import annotations

from plugin.web.app import PROTECTIVE_HEADERS


def test_the_front_page_says_what_this_is_and_links_to_the_admin_pages(client):
    response = client.get("/")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "mentorship" in page.lower()
    assert 'href="/admin/"' in page
    for name, value in PROTECTIVE_HEADERS.items():
        assert response.headers[name] == value
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
