"""Paths, query strings and forms that are not UTF-8: a 400 that says so, never a 500."""
from __future__ import annotations

import pytest

from tests.functional.conftest import ADMIN
from tests.functional.test_admin import login

pytestmark = pytest.mark.fault

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
