"""What is not there: a browser gets the admin's layout, a line saying what was not found and a
link to what exists; pip, uv and other API clients get plain text; and /favicon.ico is there."""
from __future__ import annotations

import pytest

from tests.conftest import ADMIN_PASSWORD, basic_auth
from tests.factories import make_wheel
from tests.functional.conftest import ANONYMOUS_READ, PIP_ACCEPT, uploaded

ADMIN = basic_auth("admin", ADMIN_PASSWORD)
PRIVATE = {"shop.default.anonymous_read": "false"}
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
DEMO = make_wheel("demo", "1.0")


@pytest.fixture
def app(make_app):
    app = make_app(**ANONYMOUS_READ)
    uploaded(app, DEMO)
    return app


def not_found(app, path: str, headers: dict | None = None):
    return app.get(path, headers={"Accept": BROWSER_ACCEPT, **(headers or {})}, status=404)


def assert_page(response, what: str, back_label: str, back_url: str) -> None:
    """A 404 in the layout: navigation, the line saying what, a link back; reason says what."""
    assert response.content_type == "text/html"
    assert response.status == f"404 {what}"
    assert 'aria-label="Main"' in response.text  # the layout's navigation
    assert f'<p class="what">{what}.</p>' in response.text
    assert f'href="{back_url}">{back_label}</a>' in response.text
    assert response.headers["Cache-Control"] == "private, no-store"
    assert "Accept" in response.headers["Vary"]


@pytest.mark.parametrize("path, what, back_label, back_url", [
    ("/+nope", "No page +nope", "Back to the dashboard", "http://localhost/"),
    ("/repo/nosuch/+browse", "No repository nosuch", "Back to the dashboard", "http://localhost/"),
    ("/repo/default/nosuch/+browse", "No project nosuch in repository default",
     "Back to repository default", "http://localhost/repo/default/+browse"),
    ("/repo/default/+nope", "Repository default has no page +nope",
     "Back to repository default", "http://localhost/repo/default/+browse"),
    ("/repo/default/demo/9.9/+browse", "Project demo has no version 9.9",
     "Back to project demo", "http://localhost/repo/default/demo/+browse"),
    ("/repo/default/demo/1/nope.whl/+delete", "demo 1.0 has no file nope.whl",
     "Back to project demo", "http://localhost/repo/default/demo/+browse"),
])
def test_a_missing_admin_page_is_the_layout_saying_what_with_a_link_back(
        app, path, what, back_label, back_url):
    assert_page(not_found(app, path), what, back_label, back_url)


def test_the_not_found_page_of_someone_logged_in_shows_them_logged_in(app):
    page = not_found(app, "/+nope", ADMIN)
    assert '<span class="user">admin</span>' in page.text
    assert "+users" in page.text  # an admin's navigation


def test_names_from_the_url_are_escaped_on_the_page(app):
    page = not_found(app, "/repo/default/%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E/+browse")
    assert "<img" not in page.text
    assert "No project &lt;img src=x onerror=alert(1)&gt; in repository default." in page.text


def test_a_head_request_for_a_missing_page_is_a_404_without_a_body(app):
    response = app.head("/+nope", headers={"Accept": BROWSER_ACCEPT}, status=404)
    assert response.status == "404 No page +nope"
    assert response.body == b""


def test_a_client_asking_for_plain_text_gets_the_404_in_plain_text(app):
    response = app.get("/+nope", headers={"Accept": "text/plain"}, status=404)
    assert response.content_type == "text/plain"
    assert response.text == "Not found: /+nope\n"
    assert response.status == "404 Not found: /+nope"


@pytest.mark.parametrize("path", [
    "/simple/nosuch/", "/repo/default/nosuch/", "/repo/default/demo/1/nope.whl",
    "/repo/default/demo/1/nope.whl.metadata", "/nope", "/repo/", "/pypi/nosuch/json",
])
def test_the_api_keeps_its_plain_text_404_with_its_reason(app, path):
    for accept in (PIP_ACCEPT, BROWSER_ACCEPT, "*/*"):
        response = app.get(path, headers={"Accept": accept}, status=404)
        assert response.content_type == "text/plain", (path, accept)
        reason = response.status.split(" ", 1)[1]
        assert reason.startswith("Not found") and response.text == reason + "\n"


def test_under_a_repository_one_may_not_read_a_browser_is_sent_to_log_in_as_before(make_app):
    app = make_app(**PRIVATE)
    for path in ("/repo/default/nosuch/+browse", "/repo/default/+nope"):
        response = app.get(path, headers={"Accept": BROWSER_ACCEPT}, status=302)
        assert "/+login?came_from=" in response.location


# --- the favicon ---------------------------------------------------------------------------

def test_the_favicon_is_served_to_anybody_from_the_root_and_cached(make_app):
    app = make_app(**PRIVATE)  # nothing is readable anonymously, yet the icon is
    icon = app.get("/favicon.ico", status=200)
    assert icon.content_type == "image/x-icon"
    assert icon.body[:4] == b"\0\0\1\0"  # an ICO file, one image
    assert icon.headers["Cache-Control"] == "public, max-age=86400"
    assert "Cookie" not in icon.headers.get("Vary", "")
    assert "Set-Cookie" not in icon.headers
    again = app.get("/favicon.ico", headers={"If-None-Match": icon.headers["ETag"]}, status=304)
    assert again.body == b""
    assert app.head("/favicon.ico", status=200).headers["Content-Length"] == str(len(icon.body))


def test_every_page_links_the_favicon(app):
    for path in ("/+login", "/", "/repo/default/demo/+browse"):
        assert '<link rel="icon" href="http://localhost/favicon.ico"' in app.get(path).text
    assert '<link rel="icon"' in not_found(app, "/+nope").text
