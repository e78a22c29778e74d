"""Credentials that are sent are checked wherever they are sent (issue 12, item 2).

From an allowed network, or on a repository anybody may read, a request without credentials
is served; a request with wrong ones used to be served too, so a person trying a new
credential could not tell that it was wrong. Now wrong ones get 401 with a Basic challenge,
on every URL: index pages, files, the JSON API, the admin, static files.
"""
from __future__ import annotations

import pytest

from shop.access import accounts
from tests.conftest import ADMIN_PASSWORD, basic_auth
from tests.functional.conftest import ADMIN, ANONYMOUS_READ, database_root, upload
from tests.factories import make_wheel

WRONG = "Invalid credentials: the user name or password (or access key or secret key) is wrong"
LOCAL = {"REMOTE_ADDR": "127.0.0.1"}
URLS = ("/simple/", "/simple/demo/", "/repo/default/demo/", "/pypi/demo/json",
        "/simple/demo/1/demo-1.0-py3-none-any.whl", "/", "/+login", "/+static/localshop.css",
        "/repo/default/+browse")


@pytest.fixture(params=["anonymous read", "read network"])
def app(request, make_app):
    """Repository default readable without credentials: by anybody, or from 127.0.0.0/8."""
    settings = ANONYMOUS_READ if request.param == "anonymous read" else {
        "shop.default.read_networks": "127.0.0.0/8"}
    app = make_app(**settings)
    upload(app, make_wheel("demo", "1.0"))
    return app


@pytest.fixture
def credential(app) -> tuple[str, str]:
    with database_root(app) as root:
        access_key, secret_key, _ = accounts.create_credential(root, "admin")
    return access_key, secret_key


def assert_wrong(response) -> None:
    assert response.status_int == 401, response.status
    assert WRONG in response.status and WRONG in response.text
    assert response.headers["WWW-Authenticate"] == 'Basic realm="localshop"'


@pytest.mark.parametrize("url", URLS)
def test_a_wrong_secret_is_refused_where_no_credentials_are_needed(app, credential, url):
    access_key, _ = credential
    assert app.get(url, extra_environ=LOCAL).status_int in (200, 302)
    assert_wrong(app.get(url, headers=basic_auth(access_key, "0" * 32), extra_environ=LOCAL,
                         expect_errors=True))


@pytest.mark.parametrize("url", URLS[:5])
def test_the_right_credentials_read_as_before(app, credential, url):
    access_key, secret_key = credential
    assert app.get(url, headers=basic_auth(access_key, secret_key), extra_environ=LOCAL).status_int == 200
    assert app.get(url, headers=ADMIN, extra_environ=LOCAL).status_int == 200


def test_a_wrong_password_a_disabled_credential_and_an_unknown_user_are_refused(app, credential):
    access_key, secret_key = credential
    with database_root(app) as root:
        accounts.set_credential_active(root, access_key, False)
    for headers in (basic_auth("admin", "wrong-password"), basic_auth(access_key, secret_key),
                    basic_auth("nobody", ADMIN_PASSWORD)):
        assert_wrong(app.get("/simple/demo/", headers=headers, extra_environ=LOCAL,
                             expect_errors=True))


def test_another_scheme_is_refused_saying_that_basic_is_understood(app):
    response = app.get("/simple/demo/", headers={"Authorization": "Bearer abc"},
                       extra_environ=LOCAL, status=401)
    assert "Bearer authorization is not understood here; send HTTP Basic" in response.status
    assert response.headers["WWW-Authenticate"] == 'Basic realm="localshop"'


def test_a_wrong_secret_stores_nothing_and_uploads_nothing(app, credential):
    access_key, _ = credential
    response = upload(app, make_wheel("other", "1.0"), headers=basic_auth(access_key, "0" * 32))
    assert_wrong(response)
    app.get("/simple/other/", extra_environ=LOCAL, status=404)


def test_an_empty_authorization_header_is_no_credentials(app):
    for empty in ("", "  "):
        assert app.get("/simple/demo/", headers={"Authorization": empty}, extra_environ=LOCAL).status_int == 200
