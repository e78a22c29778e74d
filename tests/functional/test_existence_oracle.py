"""Under a repository one may not read, every URL answers the same whether the name exists.

For each caller that may not read repository ``private`` (nor ``default``, private here too)
and each URL form, the answer for the existing project, version or file is compared with the
answer for a made-up one: status, reason phrase, body, and the Location and WWW-Authenticate
headers. Repository names are not hidden: a made-up one is a 404 (test_simple_index).
"""
from __future__ import annotations

from urllib.parse import quote

import pytest
import webtest

from shop import main
from shop.access import accounts
from shop.model import repositories
from shop.model.names import version_key
from shop.storage import databases
from tests.conftest import ADMIN_PASSWORD, app_settings, basic_auth
from tests.factories import make_wheel, upload_fields
from tests.functional.conftest import database_root, passwords

pytestmark = pytest.mark.fault

ADMIN = basic_auth("admin", ADMIN_PASSWORD)
PASSWORD = "password-1234"
DEMO = make_wheel("demo", "1.0")
V = version_key("1.0")
assert V != "1.0"  # "1.0" is another spelling of the stored version
FILE = DEMO.filename
NOPE_FILE = "demo-1.0-py2-none-any.whl"  # a file of that release that was never uploaded

# (method, URL of something that exists, URL of something made up): every form of URL.
FORMS = [
    ("GET", "/repo/private/demo/", "/repo/private/nope/"),
    ("GET", "/repo/private/demo", "/repo/private/nope"),
    ("GET", "/repo/private/Demo/", "/repo/private/Nope/"),
    ("GET", "/repo/private/demo/?format=text/html", "/repo/private/nope/?format=text/html"),
    ("GET", "/repo/private/demo/json", "/repo/private/nope/json"),
    ("GET", "/repo/private/DEMO/json", "/repo/private/NOPE/json"),
    ("GET", f"/repo/private/demo/{V}/json", "/repo/private/demo/9.9/json"),
    ("GET", f"/repo/private/demo/{V}/json", "/repo/private/nope/1.0/json"),
    ("GET", "/repo/private/demo/1.0/json", "/repo/private/demo/9.0/json"),
    ("GET", "/repo/private/demo/1.0/", "/repo/private/demo/9.0/"),
    ("GET", f"/repo/private/demo/1.0/{FILE}", f"/repo/private/demo/9.0/{FILE}"),
    ("GET", f"/repo/private/demo/{V}/{FILE}", f"/repo/private/demo/{V}/{NOPE_FILE}"),
    ("GET", f"/repo/private/demo/{V}/{FILE}.metadata", f"/repo/private/demo/{V}/{NOPE_FILE}.metadata"),
    ("GET", f"/repo/private/demo/{V}/{FILE}/x", f"/repo/private/demo/{V}/{NOPE_FILE}/x"),
    ("GET", "/repo/private/demo/+browse", "/repo/private/nope/+browse"),
    ("GET", f"/repo/private/demo/{V}/+browse", "/repo/private/demo/9.9/+browse"),
    ("GET", f"/repo/private/demo/{V}/+yank", "/repo/private/demo/9.9/+yank"),
    ("GET", "/repo/private/+browse", "/repo/private/nope/+browse"),
    ("GET", "/repo/private/+browse?q=demo", "/repo/private/nope/+browse?q=demo"),
    ("GET", "/repo/private/+settings", "/repo/private/nope/+settings"),
    ("GET", "/repo/private/", "/repo/private/nope/"),
    ("GET", "/simple/demo/", "/simple/nope/"),
    ("GET", "/simple/Demo/", "/simple/Nope/"),
    ("GET", "/pypi/demo/json", "/pypi/nope/json"),
    ("GET", f"/pypi/demo/{V}/json", "/pypi/demo/9.9/json"),
    ("GET", "/pypi/demo/1.0/json", "/pypi/demo/9.0/json"),
    ("POST", f"/repo/private/demo/{V}/+yank", "/repo/private/demo/9.9/+yank"),
    ("POST", f"/repo/private/demo/{V}/{FILE}/+delete", f"/repo/private/demo/{V}/{NOPE_FILE}/+delete"),
    ("POST", "/repo/private/demo/+owners", "/repo/private/nope/+owners"),
    ("POST", "/repo/private/demo/", "/repo/private/nope/"),
    ("POST", "/repo/private/+settings", "/repo/private/nope/+settings"),
    ("POST", "/repo/private/", "/repo/private/nope/"),
    ("PUT", "/repo/private/demo/", "/repo/private/nope/"),
    ("DELETE", f"/repo/private/demo/{V}/{FILE}", f"/repo/private/demo/{V}/{NOPE_FILE}"),
]
FORMS += [("HEAD", there, made_up) for method, there, made_up in FORMS if method == "GET"]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Repositories ``private`` and ``default`` (both private) holding ``demo`` 1.0; a user
    without a role, a user with a role elsewhere, and credentials of another repository."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LOCALSHOP_ADMIN_PASSWORD", ADMIN_PASSWORD)
        settings = app_settings(tmp_path_factory.mktemp("var"))
        settings["shop.default.anonymous_read"] = "false"
        wsgi = main({}, **settings)
    app = webtest.TestApp(wsgi)
    with database_root(app) as root:
        repositories.add_repository(root, "private")
        other = repositories.add_repository(root, "other")
        for user in ("stranger", "elsewhere"):
            accounts.add_user(root, user, PASSWORD, passwords=passwords(app))
        repositories.set_role(other, user="elsewhere", role="owner")
        key, secret, _ = accounts.create_credential(root, "admin", repository="other", upload=True)
        key2, secret2, _ = accounts.create_credential(root, "elsewhere", repository="other")
        # Not a wrong password: the login throttle would soon refuse every password from here.
        key3, secret3, _ = accounts.create_credential(root, "admin")
        accounts.set_credential_active(root, key3, False)
    for url in ("/repo/private/", "/repo/default/"):
        response = app.post(url, upload_fields(DEMO), headers=ADMIN,
                            upload_files=[("content", DEMO.filename, DEMO.data)])
        assert response.status_int == 200
    callers = {
        "anonymous": {},
        "disabled credential": basic_auth(key3, secret3),
        "user without a role": basic_auth("stranger", PASSWORD),
        "owner of another repository": basic_auth("elsewhere", PASSWORD),
        "credential of another repository": basic_auth(key, secret),
        "read-only credential of another repository": basic_auth(key2, secret2),
    }
    yield app, callers
    for db in databases(wsgi.registry):
        db.close()


def answer(app, method: str, url: str, headers: dict) -> tuple:
    """What a caller learns from an answer: status, headers that matter, the body."""
    response = app.request(url, method=method, headers=headers, expect_errors=True)
    return (response.status, response.headers.get("Location"),
            response.headers.get("WWW-Authenticate"), response.headers.get("Content-Type"),
            response.headers.get("Vary"), response.body)


def answers(app, method: str, url: str, headers: dict) -> tuple:
    """The answer, with the URL asked for replaced (the body and the login link name it)."""
    path = url.split("?")[0]
    spellings = [(quote(url, safe=""), "<url>"), (path, "<path>")]
    result = []
    for value in answer(app, method, url, headers):
        for spelled, placeholder in spellings:
            if isinstance(value, str):
                value = value.replace(spelled, placeholder)
            elif isinstance(value, bytes):
                value = value.replace(spelled.encode(), placeholder.encode())
        result.append(value)
    return tuple(result)


CALLERS = ("anonymous", "disabled credential", "user without a role", "owner of another repository",
           "credential of another repository", "read-only credential of another repository")


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize(("method", "there", "made_up"), FORMS,
                         ids=[f"{m} {a} | {b}" for m, a, b in FORMS])
def test_an_unreadable_repository_answers_alike_for_existing_and_made_up_names(
        world, caller, method, there, made_up):
    app, callers = world
    headers = callers[caller]
    existing = answer(app, method, there, headers)
    assert existing[0][:3] in ("401", "403", "302", "303"), (there, existing[0])
    assert answers(app, method, there, headers) == answers(app, method, made_up, headers)


def test_the_refusal_is_the_repository_s_own(world):
    """Anonymous API clients get the Basic challenge; browsers the login page; others 403."""
    app, callers = world
    for url in ("/repo/private/nope/", "/simple/nope/1.0/x.whl", "/pypi/nope/json"):
        response = app.get(url, status=401)
        assert response.headers["WWW-Authenticate"].startswith("Basic realm=")
    response = app.get("/repo/private/nope/+browse", status=302)
    assert "/+login?came_from=" in response.location
    response = app.get("/repo/private/nope/", headers=callers["user without a role"], status=403)
    assert "stranger may not do this here" in response.text
    response = app.get("/repo/private/nope/",
                       headers=callers["credential of another repository"], status=403)
    assert "this credential is for repository other only" in response.text


def test_readers_still_get_404_and_301(world):
    app, _ = world
    app.get("/repo/private/nope/", headers=ADMIN, status=404)
    app.get("/repo/nope/", headers=ADMIN, status=404)
    app.post("/repo/private/demo/", headers=ADMIN, status=405)
    assert app.get("/repo/private/Demo/", headers=ADMIN, status=301).location.endswith(
        "/repo/private/demo/")
    assert app.get("/repo/private/demo/1.0/json", headers=ADMIN).json["info"]["version"] == "1.0"
