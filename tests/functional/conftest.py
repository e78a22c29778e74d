"""Helpers for functional tests: upload through the app, read pages, look inside its database."""
from __future__ import annotations

import hashlib
import os
from contextlib import contextmanager
from dataclasses import dataclass
from html.parser import HTMLParser

import pytest
import webtest

from shop import main
from shop.access.passwords import Passwords
from shop.services import services_of
from shop.storage import database, databases, root_transaction, temporary_directory
from tests.conftest import ADMIN_PASSWORD, app_settings, basic_auth
from tests.factories import Dist, distutils_body, upload_fields
from tests.storecheck import settled

ADMIN = basic_auth("admin", ADMIN_PASSWORD)
JSON = "application/vnd.pypi.simple.v1+json"
HTML = "application/vnd.pypi.simple.v1+html"
PIP_ACCEPT = f"{JSON}, {HTML}; q=0.1, text/html; q=0.01"
# Repository "default" readable without credentials: these tests are about the index, not access.
ANONYMOUS_READ = {"shop.default.anonymous_read": "true"}


@pytest.fixture
def app(make_app):
    return make_app(**ANONYMOUS_READ)


def upload(app, dist: Dist, *, filename: str | None = None, content: bool = True,
           url: str = "/repo/default/", headers: dict | None = ADMIN, **fields):
    """POST ``dist`` as twine would; ``fields`` override form fields (None drops one).

    Returns the response whatever its status: tests assert it; once the writer has written
    the records of the upload (the audit log, the dashboard's latest uploads: ``settled``).
    """
    files = [("content", filename if filename is not None else dist.filename, dist.data)]
    response = app.post(url, upload_fields(dist, **fields), upload_files=files if content else None,
                        headers=headers or {}, expect_errors=True)
    settled(app)
    return response


def distutils_upload(app, dist: Dist, url: str = "/simple/", headers: dict = ADMIN):
    """Upload as Python 2's ``setup.py upload`` did: bare ``\\n`` line breaks, md5 only."""
    body, content_type = distutils_body(dist)
    return app.request(url, method="POST", body=body, headers=headers, expect_errors=True,
                       content_type=content_type)


def uploaded(app, *dists: Dist, **fields) -> None:
    """Upload each of ``dists`` and insist that it was stored."""
    for dist in dists:
        r = upload(app, dist, **fields)
        assert r.status_int == 200, r.status


def json_page(app, path: str, status: int = 200):
    return app.get(path, headers={"Accept": JSON}, status=status)


def project_files(app, project: str) -> dict[str, dict]:
    """The files of a project page in JSON, by filename."""
    return {f["filename"]: f for f in json_page(app, f"/simple/{project}/").json["files"]}


def file_url(project: str, file: dict) -> str:
    """The absolute path of a file listed on a project page (its URL is relative to the page)."""
    return f"/simple/{project}/{file['url']}"


def vary(response) -> set[str]:
    return {v.strip() for v in response.headers.get("Vary", "").split(",") if v.strip()}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def database_root(app):
    """The application root in a connection of the app's own database, in its own transaction,
    once the app's writer is idle (what it was given, the mirror's stores and the records of
    committed changes, is committed: ``settled``)."""
    settled(app)
    return root_transaction(database(app.app.registry))


def passwords(app) -> Passwords:
    """The app's password service, for making accounts as the admin pages do."""
    return services_of(app.app.registry).passwords


@dataclass(frozen=True)
class Counts:
    packages: int
    releases: int
    files: int


def tree_counts(app, repository: str = "default") -> Counts:
    """How many packages, releases and files the repository holds, counted in the database."""
    with database_root(app) as root:
        packages = root.repositories[repository]
        releases = [r for p in packages.values() for r in p.values()]
        return Counts(len(packages), len(releases), sum(len(r) for r in releases))


def project_names(app) -> list[str]:
    """The projects the JSON root page lists."""
    return [p["name"] for p in json_page(app, "/simple/").json["projects"]]


def assert_nothing_stored(app) -> None:
    """The default repository is still empty: in the database, on the root page, at /simple/demo/."""
    assert tree_counts(app) == Counts(0, 0, 0)
    assert project_names(app) == []
    json_page(app, "/simple/demo/", status=404)


def received_leftovers(app) -> list[str]:
    """Received upload files still in the blob storage's temporary directory."""
    tmp = temporary_directory(database(app.app.registry))
    return [n for n in os.listdir(tmp) if n.startswith("upload-")]


def assert_refused(app, response, status: int, *fragments: str) -> None:
    """The status, each fragment in reason phrase and body; nothing stored, no file left."""
    assert response.status_int == status, response.status
    for fragment in fragments:
        assert fragment in response.status and fragment in response.text
    assert_nothing_stored(app)
    assert received_leftovers(app) == []


def yank(app, project: str, version_key: str, filename: str, reason: str = "") -> None:
    """Yank a file through the app's database, as an administrator's tool would."""
    with database_root(app) as root:
        root.repositories["default"][project][version_key][filename].set_yanked(True, reason)


@contextmanager
def module_app(tmp_path_factory):
    """An app with anonymous reads, in a database of its own, for one module's tests."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LOCALSHOP_ADMIN_PASSWORD", ADMIN_PASSWORD)
        wsgi = main({}, **app_settings(tmp_path_factory.mktemp("var"), **ANONYMOUS_READ))
    try:
        yield webtest.TestApp(wsgi)
    finally:
        for db in databases(wsgi.registry):
            db.close()


@pytest.fixture(scope="module")
def shared_app(tmp_path_factory):
    """One app for a module's tests that only read: starting one costs an argon2 hash."""
    with module_app(tmp_path_factory) as app:
        yield app


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: dict[str, dict[str, str | None]] = {}
        self._attrs: dict | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self._attrs = dict(attrs)

    def handle_data(self, data):
        if self._attrs is not None:
            self.links[data] = self._attrs
            self._attrs = None


def links(html: str) -> dict[str, dict[str, str | None]]:
    """The attributes (unescaped) of each link of a simple page, by anchor text."""
    parser = _Links()
    parser.feed(html)
    return parser.links
