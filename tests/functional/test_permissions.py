"""The permission matrix: who may read, download, upload and administer a private repository.

Rows are the kinds of callers; columns the kinds of requests. Every cell's status is
asserted: 200, 401 (with a Basic challenge, so pip and twine send credentials), 403, or
302 to the login page (a browser without a session asking for an admin page).
"""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import pytest
import webtest

from shop import main
from shop.access import accounts
from shop.model import repositories
from shop.storage import databases
from shop.model.names import version_key
from tests.conftest import ADMIN_PASSWORD, app_settings, basic_auth
from tests.factories import make_wheel, upload_fields
from tests.functional.conftest import database_root, passwords

ADMIN = basic_auth("admin", ADMIN_PASSWORD)
PASSWORD = "password-1234"
NETWORK = "10.1.0.0/16"
IN_NETWORK = "10.1.2.3"
DEMO = make_wheel("demo", "1.0")
SIMPLE = "/repo/private/demo/"
FILE = f"/repo/private/demo/{version_key('1.0')}/{DEMO.filename}"
METADATA = FILE + ".metadata"
SETTINGS = "/repo/private/+settings"
USERS = "/+users"


@dataclass(frozen=True)
class Caller:
    headers: dict
    environ: dict


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """An app with repository ``private`` (readable from NETWORK), ``other``, users with each
    role in ``private``, and credentials of each kind; ``demo`` 1.0 uploaded to ``private``."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LOCALSHOP_ADMIN_PASSWORD", ADMIN_PASSWORD)
        wsgi = main({}, **app_settings(tmp_path_factory.mktemp("var")))
    app = webtest.TestApp(wsgi)
    with database_root(app) as root:
        private = repositories.add_repository(root, "private")
        repositories.configure(private, read_networks=NETWORK)
        repositories.add_repository(root, "other")
        for role in ("reader", "uploader", "owner"):
            accounts.add_user(root, role, PASSWORD, passwords=passwords(app))
            repositories.set_role(private, user=role, role=role)
        keys = {}
        for kind, owner, scope, may_upload in (
            ("read-only", "admin", "private", False),
            ("read+upload", "owner", "private", True),
            ("disabled", "admin", None, True),
            ("other-repository", "admin", "other", True),
        ):
            key, secret, credential = accounts.create_credential(
                root, owner, repository=scope, upload=may_upload)
            keys[kind] = basic_auth(key, secret)
            if kind == "disabled":
                accounts.set_credential_active(root, key, False)
    assert upload(app, DEMO).status_int == 200
    callers = {
        "anonymous": Caller({}, {}),
        "anonymous from an allowed network": Caller({}, {"REMOTE_ADDR": IN_NETWORK}),
        "reader": Caller(basic_auth("reader", PASSWORD), {}),
        "uploader": Caller(basic_auth("uploader", PASSWORD), {}),
        "owner": Caller(basic_auth("owner", PASSWORD), {}),
        "admin": Caller(ADMIN, {}),
        "credential read-only": Caller(keys["read-only"], {}),
        "credential read+upload": Caller(keys["read+upload"], {}),
        "disabled credential": Caller(keys["disabled"], {}),
        "credential of another repository": Caller(keys["other-repository"], {}),
    }
    yield app, callers
    for db in databases(wsgi.registry):
        db.close()


def upload(app, dist, headers: dict = ADMIN, environ: dict | None = None):
    """POST ``dist`` to repository ``private`` as twine would; the response whatever its status."""
    return app.post("/repo/private/", upload_fields(dist), headers=headers,
                    upload_files=[("content", dist.filename, dist.data)],
                    extra_environ=environ or {}, expect_errors=True)


LOGIN = "login"  # 302 to /+login?came_from=<the page>
# caller: (simple page, file, .metadata, upload, repository settings, users page)
MATRIX = {
    "anonymous":                        (401, 401, 401, 401, LOGIN, LOGIN),
    "anonymous from an allowed network": (200, 200, 200, 401, LOGIN, LOGIN),
    "reader":                           (200, 200, 200, 403, 403, 403),
    "uploader":                         (200, 200, 200, 200, 403, 403),
    "owner":                            (200, 200, 200, 200, 200, 403),
    "admin":                            (200, 200, 200, 200, 200, 200),
    "credential read-only":             (200, 200, 200, 403, 403, 403),
    # The owner's credential may upload, but the admin pages are for people with passwords.
    "credential read+upload":           (200, 200, 200, 200, 403, 403),
    "disabled credential":              (401, 401, 401, 401, 401, 401),  # wrong everywhere
    "credential of another repository": (403, 403, 403, 403, 403, 403),
}
COLUMNS = ("simple page", "file", ".metadata", "upload", "repository settings", "users page")


def _check(response, expected, path: str) -> None:
    if expected == LOGIN:
        assert response.status_int == 302, response.status
        location = urlsplit(response.location)
        assert location.path == "/+login"
        assert parse_qs(location.query)["came_from"] == [path]
        return
    assert response.status_int == expected, f"{path}: {response.status}\n{response.text[:300]}"
    if expected == 401:
        assert response.headers["WWW-Authenticate"].startswith("Basic realm=")


@pytest.mark.parametrize("caller", list(MATRIX))
def test_permission_matrix(world, caller):
    app, callers = world
    who = callers[caller]
    expected = dict(zip(COLUMNS, MATRIX[caller]))
    reads = {"simple page": SIMPLE, "file": FILE, ".metadata": METADATA,
             "repository settings": SETTINGS, "users page": USERS}
    for column, path in reads.items():
        response = app.get(path, headers=who.headers, extra_environ=who.environ, expect_errors=True)
        _check(response, expected[column], path)
    # A new project per caller: package ownership is not what this cell is about.
    project = "new-" + caller.replace(" ", "-").replace("+", "-")
    response = upload(app, make_wheel(project, "1.0"), who.headers, who.environ)
    _check(response, expected["upload"], "/repo/private/")


def test_reads_come_with_content(world):
    """The 200s are the real thing: the page lists the file, the file is the upload."""
    app, callers = world
    reader = callers["credential read-only"].headers
    assert DEMO.filename in app.get(SIMPLE, headers=reader).text
    assert app.get(FILE, headers=reader).body == DEMO.data
    assert app.get(METADATA, headers=reader).text.startswith("Metadata-Version:")


def test_denied_credential_says_why(world):
    app, callers = world
    response = app.get(SIMPLE, headers=callers["credential of another repository"].headers, status=403)
    assert "this credential is for repository other only" in response.text
    response = app.get(SETTINGS, headers=callers["credential read+upload"].headers, status=403)
    assert "credentials are for installing and uploading only" in response.text


@pytest.mark.parametrize("caller", list(MATRIX))
def test_the_json_api_is_read_like_the_simple_page_under_every_spelling(world, caller):
    """``/json`` of the project, of its release, and of the release spelled otherwise."""
    app, callers = world
    who = callers[caller]
    assert version_key("1.0") != "1.0"
    for path in ("/repo/private/demo/json", f"/repo/private/demo/{version_key('1.0')}/json",
                 "/repo/private/demo/1.0/json"):
        response = app.get(path, headers=who.headers, extra_environ=who.environ, expect_errors=True)
        _check(response, MATRIX[caller][0], path)
