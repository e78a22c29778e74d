"""The browse pages of mirrored and hosted projects: hidden upstream files said aloud, long
version lists paged, no controls that do not apply to upstream's files, who may read."""
from __future__ import annotations

import logging
import re

import pytest

from shop.access import accounts
from shop.model import repositories
from shop.model.mirrored import replace_listing
from shop.model.names import version_key
from shop.services import services_of
from tests.conftest import ADMIN_PASSWORD, basic_auth
from tests.factories import make_wheel, upload_fields
from tests.functional.conftest import database_root, passwords
from tests.upstream import FakeIndex, UpstreamServer

JSON = {"Accept": "application/vnd.pypi.simple.v1+json"}
PASSWORD = "password-1234"


@pytest.fixture
def upstream():
    with UpstreamServer(FakeIndex()) as server:
        yield server


@pytest.fixture
def app(make_app, upstream):
    app = make_app(**{"shop.upstream": upstream.url, "shop.argon2_profile": "cheapest"})
    yield app
    services = services_of(app.app.registry)  # no pooled upstream socket outlives the test
    services.downloads.close()
    services.upstream.session.close()


def publish(upstream, name: str, *versions: str) -> list:
    wheels = [make_wheel(name, v) for v in versions]
    for wheel in wheels:
        upstream.index.add(name, wheel)
    return wheels


def upload(app, dist, headers: dict | None = None, status: int = 200):
    return app.post("/repo/default/", upload_fields(dist),
                    upload_files=[("content", dist.filename, dist.data)],
                    headers=headers or basic_auth("admin", ADMIN_PASSWORD), status=status)


def mirrored(app, name: str) -> None:
    """Have the mirror store the project (as an install through it would)."""
    app.get(f"/repo/default/{name}/", headers=JSON)


def add_user(app, name: str, role: str | None = None) -> dict:
    with database_root(app) as root:
        accounts.add_user(root, name, PASSWORD, passwords=passwords(app))
        if role:
            repositories.set_role(root.repositories["default"], user=name, role=role)
    return basic_auth(name, PASSWORD)


ADMIN = basic_auth("admin", ADMIN_PASSWORD)
HIDING = logging.getLogger("shop.hosting.publishing").name


# --- uploads that hide upstream's files: the log and the pages ---------------------------------


def test_the_first_upload_over_a_mirrored_project_logs_what_it_hides_and_later_ones_do_not(
        app, upstream, caplog):
    publish(upstream, "foo", "8.0", "9.0")
    mirrored(app, "foo")
    caplog.set_level(logging.WARNING, logger=HIDING)

    upload(app, make_wheel("foo", "1.0"))
    first = [r for r in caplog.records if r.name == HIDING]
    upload(app, make_wheel("foo", "1.1"))
    later = [r for r in caplog.records if r.name == HIDING]

    assert len(first) == 1 and first[0].levelno == logging.WARNING
    line = first[0].getMessage()
    for words in ("admin", "foo", "repository default", "hides 2 upstream files"):
        assert words in line, line
    assert later == first


def test_an_upload_of_a_new_name_logs_nothing(app, caplog):
    caplog.set_level(logging.WARNING, logger=HIDING)
    upload(app, make_wheel("fresh", "1.0"))
    assert [r for r in caplog.records if r.name == HIDING] == []


def test_both_pages_mark_a_project_that_hides_upstream_files(app, upstream):
    publish(upstream, "foo", "7.0", "8.0", "9.0")
    publish(upstream, "bar", "1.0")
    mirrored(app, "foo")
    mirrored(app, "bar")
    upload(app, make_wheel("foo", "1.0"))
    settings = "http://localhost/repo/default/+settings"

    for path in ("/repo/default/foo/+browse", "/repo/default/+browse"):
        text = " ".join(app.get(path, headers=ADMIN).text.split())
        assert "hides 3 upstream files" in text, path
        assert f'<a href="{settings}">allow merging in settings</a>' in text
        assert text.count("upstream files;") + text.count("upstream files:") == 1  # bar hides none
    anonymous = " ".join(app.get("/repo/default/foo/+browse").text.split())
    assert "hides 3 upstream files" in anonymous and settings not in anonymous
    assert "localshop -c INI repository set default --merge-allowed foo" in anonymous
    assert "allow merging in settings" in " ".join(app.get("/repo/default/+browse").text.split())


def test_the_hidden_count_is_kept_not_walked_for_each_view(app, upstream):
    publish(upstream, "foo", "7.0", "8.0", "9.0")
    mirrored(app, "foo")
    upload(app, make_wheel("foo", "1.0"))
    with database_root(app) as root:
        assert root.repositories["default"]["foo"].hidden_upstream == 3
        # Off the allow-list and on again (the mirror may add files meanwhile): counted again.
        default = root.repositories["default"]
        repositories.configure(default, merge_allowed=["foo"])
        listing = default["foo"].listing  # upstream drops 7.0
        replace_listing(default["foo"], tuple(
            e for e in listing.entries if e[0] != "foo-7.0-py3-none-any.whl"), None, None, "test")
        repositories.configure(default, merge_allowed=[])
        assert default["foo"].hidden_upstream == 2
    assert "hides 2 upstream files" in " ".join(app.get("/repo/default/foo/+browse").text.split())


def test_a_merge_allowed_project_is_not_marked(app, upstream):
    publish(upstream, "foo", "9.0")
    mirrored(app, "foo")
    upload(app, make_wheel("foo", "1.0"))
    with database_root(app) as root:
        repositories.configure(root.repositories["default"], merge_allowed=["foo"])
    for path in ("/repo/default/foo/+browse", "/repo/default/+browse"):
        assert "upstream files" not in app.get(path).text.replace("upstream files of it", "")


# --- long version lists ------------------------------------------------------------------------


def versions_shown(page) -> list[str]:
    return re.findall(r"<h3>(.*?)</h3>", page.text)


def test_a_project_of_sixty_versions_shows_the_newest_twenty_and_pages_the_rest(app, upstream):
    publish(upstream, "big", *(f"1.{n}" for n in range(60)))
    mirrored(app, "big")

    first = app.get("/repo/default/big/+browse")
    assert versions_shown(first) == [f"1.{n}" for n in range(59, 39, -1)]
    assert "Versions 1–20 of 60" in " ".join(first.text.split())
    third = app.get("/repo/default/big/+browse", {"page": "3"})
    assert versions_shown(third) == [f"1.{n}" for n in range(19, -1, -1)]
    assert f'href="http://localhost/repo/default/big/+browse?page=3#v{version_key("1.0")}"' in first.text  # folded list
    assert versions_shown(app.get("/repo/default/big/+browse", {"page": "99"})) == versions_shown(third)
    for odd in ("x", "²", "٣", "-1", "1" * 50):  # ² and ٣ are digits to str.isdigit, not to int
        assert versions_shown(app.get("/repo/default/big/+browse", {"page": odd})) == versions_shown(first)


def test_a_version_url_lands_on_the_page_that_shows_it(app, upstream):
    publish(upstream, "big", *(f"1.{n}" for n in range(60)))
    mirrored(app, "big")
    old = app.get(f"/repo/default/big/{version_key('1.5')}/+browse", status=302)
    assert old.location == "http://localhost/repo/default/big/+browse?page=3#v1.5"
    assert 'id="v1.5"' in app.get(old.location).text
    new = app.get(f"/repo/default/big/{version_key('1.50')}/+browse", status=302)
    assert new.location == "http://localhost/repo/default/big/+browse#v1.50"


def test_a_short_project_has_no_pager(app):
    upload(app, make_wheel("demo", "1.0"))
    assert "Versions 1–" not in app.get("/repo/default/demo/+browse").text


# --- no controls that do not apply to upstream's files -----------------------------------------


def test_upstream_files_and_mirrored_projects_get_no_yank_delete_or_owner_controls(app, upstream):
    theirs, = publish(upstream, "foo", "9.0")
    mirrored(app, "foo")
    page = app.get("/repo/default/foo/+browse", headers=ADMIN)
    assert "+yank" not in page.text and "+delete" not in page.text
    assert 'id="owners"' not in page.text and "No owners: mirrored from upstream" in page.text
    release = f"/repo/default/foo/{version_key('9.0')}/"
    for target in (release, f"{release}{theirs.filename}/"):
        for action in ("+yank", "+unyank", "+delete"):
            refused = app.get(target + action, headers=ADMIN, status=400)
            assert "upstream's file" in refused.status and "upstream" in refused.text
    assert [f["yanked"] for f in app.get("/repo/default/foo/", headers=JSON).json["files"]] == [False]


def test_posts_against_upstream_files_and_owners_of_mirrored_projects_are_refused(app, upstream):
    theirs, = publish(upstream, "foo", "9.0")
    mirrored(app, "foo")
    add_user(app, "ivan")
    login = app.get("/+login").forms["login-form"]
    login["username"], login["password"] = "admin", ADMIN_PASSWORD
    login.submit(status=302)
    upload(app, make_wheel("ours", "1.0"))
    ours = f"/repo/default/ours/{version_key('1.0')}/+yank"
    token = app.get(ours).forms["confirm"]["csrf_token"].value
    release = f"/repo/default/foo/{version_key('9.0')}/"
    for target in (release, f"{release}{theirs.filename}/"):
        for action in ("+yank", "+delete"):
            response = app.post(target + action, {"csrf_token": token}, status=400)
            assert "upstream" in response.status
    owners = app.post("/repo/default/foo/+owners", {"csrf_token": token, "user": "ivan",
                                                    "action": "add"}, status=400)
    assert "mirrored from upstream" in owners.status
    assert list(app.get("/repo/default/foo/", headers=JSON).json["files"])  # still listed


def test_uploaded_files_keep_their_controls_beside_hidden_upstream_ones(app, upstream):
    theirs, = publish(upstream, "foo", "9.0")
    mirrored(app, "foo")
    ours = make_wheel("foo", "1.0")
    upload(app, ours)
    page = app.get("/repo/default/foo/+browse", headers=ADMIN)
    ours_url = f"http://localhost/repo/default/foo/{version_key('1.0')}/"
    assert f'href="{ours_url}+yank"' in page.text and f'href="{ours_url}{ours.filename}/+delete"' in page.text
    assert f"{version_key('9.0')}/+yank" not in page.text and 'id="owners"' in page.text


# --- who may read ------------------------------------------------------------------------------


@pytest.mark.parametrize("settings, words, credential", [
    ({"anonymous_read": True}, "Readable by anyone, without a credential.", False),
    ({"anonymous_read": False, "read_networks": "10.0.0.0/8 192.168.1.0/24"},
     "Readable by anyone on the networks 10.0.0.0/8, 192.168.1.0/24 without a credential; "
     "everyone else only with a role and a credential. Elsewhere, put an access key", True),
    ({"anonymous_read": False, "read_networks": ""},
     "Readable by only people with a role, with a credential. Put an access key", True),
])
def test_the_pages_say_who_may_read_the_repository(app, settings, words, credential):
    upload(app, make_wheel("demo", "1.0"))
    with database_root(app) as root:
        repositories.configure(root.repositories["default"], **settings)
    project = " ".join(app.get("/repo/default/demo/+browse", headers=ADMIN).text.split())
    assert words in project
    assert ("http://KEY:SECRET@" in project) is credential
    assert "is private" not in project
    summary = words.split("Readable by ")[1].split(".")[0]
    for path in ("/", "/repo/default/+browse", "/+repositories"):
        assert summary in " ".join(app.get(path, headers=ADMIN).text.split()), path
