"""Paths, query strings and forms that are not UTF-8: a 400 that says so, never a 500."""
from __future__ import annotations

import pytest
from webob import Request

from tests.functional.conftest import ADMIN
from tests.functional.test_admin import login

pytestmark = pytest.mark.fault

FORM = "application/x-www-form-urlencoded"

PATHS = [
    ("/simple/%ff/", "path"),
    ("/simple/%ff", "path"),
    ("/%ff", "path"),
    ("/repo/default/%c0%ae%c0%ae/", "path"),
    ("/repo/%ff/+browse", "path"),
    ("/simple/?format=%ff", "query string"),
    ("/simple/?%ff=1", "query string"),
    ("/repo/default/+browse?q=%ff", "query string"),
    ("/+login?came_from=%ff", "query string"),
    ("/pypi/demo/json?x=%c3", "query string"),  # not read by any view: refused all the same
]


@pytest.mark.parametrize(("url", "part"), PATHS)
@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("who", ["anonymous", "admin"])
def test_a_request_that_is_not_utf8_is_a_400_naming_the_part(app, url, part, method, who):
    headers = ADMIN if who == "admin" else {}
    response = app.request(url, method=method, headers=headers, expect_errors=True)
    assert response.status == (f"400 Bad request: the {part} is not valid UTF-8; percent-encode"
                               " the UTF-8 bytes of the text instead.")
    if method == "GET":
        assert f"the {part} is not valid UTF-8" in response.text


def credentials_form(app, body: bytes, charset: str = ""):
    """POST the new-credential form (with the session's CSRF token) and ``body`` after it."""
    token = app.get("/+credentials").forms["create-credential"]["csrf_token"].value
    content_type = "application/x-www-form-urlencoded" + (f"; charset={charset}" if charset else "")
    return app.post("/+credentials", b"csrf_token=" + token.encode() + b"&action=create" + body,
                    content_type=content_type, expect_errors=True)


@pytest.mark.parametrize("description", [b"%ff", b"caf\xe9", b"%c0%ae"])
def test_a_form_that_is_not_utf8_is_a_400_and_stores_nothing(app, description):
    """Not a credential described with U+FFFD where the browser sent other bytes."""
    login(app)
    response = credentials_form(app, b"&mode=read&repository=default&description=" + description)
    assert response.status.startswith("400 Bad request: the form is not valid UTF-8")
    assert "\ufffd" not in app.get("/+credentials").text
    assert credentials_form(app, b"&mode=read&repository=default&description=caf%C3%A9"
                            ).status_int == 200


def test_a_form_in_another_charset_is_a_400(app):
    login(app)
    response = credentials_form(app, b"&mode=read&description=x", charset="latin-1")
    assert response.status.startswith("400 Bad request: the form (sent as latin-1) is not valid")
    assert credentials_form(app, b"&mode=read&description=x", charset="utf8").status_int == 200


@pytest.mark.parametrize("content_type", ["multipart/form-data; boundary=x; charset=latin-1",
                                          "application/x-www-form-urlencoded; charset=ascii"])
@pytest.mark.parametrize("url", ["/+login", "/repo/default/", "/+users"])
def test_any_form_in_another_charset_is_a_400(app, url, content_type):
    """WebOb refuses to parse it (with an exception: a 500 until now)."""
    response = app.request(url, method="POST", body=b"--x--\r\n", headers=ADMIN,
                           content_type=content_type, expect_errors=True)
    assert response.status.startswith("400 Bad request: the form (sent as ")


def test_a_path_that_is_not_utf8_under_a_post_is_a_400(app):
    response = app.post("/repo/default/%ff/+yank", headers=ADMIN, expect_errors=True)
    assert response.status.startswith("400 Bad request: the path is not valid UTF-8")


@pytest.mark.parametrize("query", ["q=\xff", "q=caf\xe9", "came_from=\xc3"])
@pytest.mark.parametrize("url", ["/repo/default/+browse", "/simple/", "/+login"])
def test_raw_query_bytes_that_are_not_utf8_are_a_400(app, url, query):
    """As a WSGI server hands them: the client's bytes as latin-1 text, not percent-encoded."""
    request = Request.blank(url, headers=ADMIN)
    request.environ["QUERY_STRING"] = query  # WebTest would percent-encode it
    response = request.get_response(app.app)
    assert response.status.startswith("400 Bad request: the query string is not valid UTF-8")


def test_raw_query_bytes_that_are_utf8_pass(app):
    request = Request.blank("/repo/default/+browse", headers=ADMIN)
    request.environ["QUERY_STRING"] = "q=caf\xc3\xa9"
    response = request.get_response(app.app)
    assert response.status_int == 200


@pytest.mark.parametrize("url", ["/simple/", "/+login", "/repo/default/+browse"])
def test_a_get_that_names_another_form_charset_is_answered(app, url):
    """Some Java clients send a form Content-Type on every GET: there is no form to decode."""
    response = app.get(url, headers={**ADMIN, "Content-Type": f"{FORM}; charset=ISO-8859-1"})
    assert response.status_int == 200


@pytest.mark.parametrize("url", ["/+login", "/+logout", "/+users", "/repo/default/"])
def test_a_multipart_post_without_boundary_is_a_400_naming_it(app, url):
    response = app.request(url, method="POST", body=b"--x--\r\n", headers=ADMIN,
                           content_type="multipart/form-data", expect_errors=True)
    assert response.status == ("400 Bad request: the multipart/form-data body has no boundary"
                               " in its Content-Type header.")
    assert "no boundary" in response.text
