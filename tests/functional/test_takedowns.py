"""Takedowns followed, and upstream's PEP 792 statuses mirrored: through WebTest, with a real
upstream on loopback (``tests.functional.test_mirror``'s fixtures) and a real FileStorage.

A file upstream no longer lists is not offered nor served (410) unless the repository keeps
upstream's deletions; an upstream that cannot be reached changes nothing.
"""
from __future__ import annotations

import pytest

from tests.functional.test_mirror import (  # noqa: F401 (fixtures)
    ALWAYS_RECHECK, FAST, HTML, file_url, files_of, html_links, mirror, page, publish,
    set_repository, upstream,
)
from tests.storecheck import app_db, assert_app_store_consistent, opened, settled
from tests.upstream import Fault


def cached(app, upstream, name="app-one", versions=("1.0", "2.0")):
    """Publish ``versions`` of ``name`` upstream, mirror them and download each once; the
    wheels and their URLs here."""
    wheels = [publish(upstream, name, v) for v in versions]
    urls = [file_url(app, name, w.filename) for w in wheels]
    for wheel, url in zip(wheels, urls):
        assert app.get(url).body == wheel.data
    settled(app)  # stored (clients are answered first): a record of a file no longer
    return wheels, urls  # listed when the writer comes to it would not be made


def drop_upstream(upstream, wheel, name="app-one"):
    upstream.index.projects[name] = [f for f in upstream.index.projects[name]
                                     if f.filename != wheel.filename]


def removed_record(app, filename, name="app-one"):
    with opened(app) as root:
        for record in root.repositories["default"][name].records():
            if record.filename == filename:
                return record.removed_upstream, record.blob is not None
    return None


def html_names(app, name="app-one"):
    return " ".join(html_links(page(app, name, headers=HTML, base="/simple/").text))


# --- a file removed upstream -----------------------------------------------------------------


def test_a_cached_file_removed_upstream_is_no_longer_offered_nor_served(mirror, upstream):
    app = mirror(**ALWAYS_RECHECK)
    (old, new), (old_url, new_url) = cached(app, upstream)
    drop_upstream(upstream, old)

    assert list(files_of(app, "app-one")) == [new.filename]
    assert old.filename not in html_names(app) and new.filename in html_names(app)
    gone = app.get(old_url, status=410)
    assert "removed upstream" in gone.text and old.filename in gone.text
    assert app.get(new_url).body == new.data
    when, has_bytes = removed_record(app, old.filename)
    assert when is not None and has_bytes  # the bytes stay, for an admin to inspect
    files_of(app, "app-one")  # re-checked again: the first time it was found gone stays
    assert removed_record(app, old.filename)[0] == when
    assert_app_store_consistent(app)


def test_a_repository_keeping_upstreams_deletions_still_offers_and_serves_them(mirror, upstream):
    app = mirror(**ALWAYS_RECHECK)
    (old, new), (old_url, _) = cached(app, upstream)
    set_repository(app, upstream_deletions="keep")
    drop_upstream(upstream, old)

    assert list(files_of(app, "app-one")) == [old.filename, new.filename]
    assert app.get(old_url).body == old.data
    assert removed_record(app, old.filename)[0] is not None  # noted all the same

    set_repository(app, upstream_deletions="follow")  # the pages follow the setting at once
    assert list(files_of(app, "app-one")) == [new.filename]
    app.get(old_url, status=410)


def test_a_file_listed_upstream_again_is_served_again(mirror, upstream):
    app = mirror(**ALWAYS_RECHECK)
    (old, new), (old_url, _) = cached(app, upstream)
    kept = upstream.index.projects["app-one"][0]
    drop_upstream(upstream, old)
    assert list(files_of(app, "app-one")) == [new.filename]

    upstream.index.projects["app-one"].insert(0, kept)
    assert list(files_of(app, "app-one")) == [old.filename, new.filename]
    assert app.get(old_url).body == old.data
    assert removed_record(app, old.filename) == (None, True)
    assert upstream.count("/files/" + old.filename) == 1  # its bytes never left


@pytest.mark.parametrize("provoke", [
    lambda up: up.faults.update({"/simple/app-one/": Fault("hang", seconds=3)}),
    lambda up: up.faults.update({"/simple/app-one/": Fault("error", status=503)}),
    lambda up: up.stop(),
], ids=["hang", "503", "stopped"])
def test_an_upstream_that_cannot_be_reached_changes_nothing(mirror, upstream, provoke):
    app = mirror(**FAST, **ALWAYS_RECHECK)
    (old, new), urls = cached(app, upstream)
    before = app_db(app).lastTransaction()
    provoke(upstream)

    assert list(files_of(app, "app-one")) == [old.filename, new.filename]
    assert [app.get(url).body for url in urls] == [old.data, new.data]
    assert removed_record(app, old.filename) == (None, True)
    assert app_db(app).lastTransaction() == before


# --- a whole project taken down ---------------------------------------------------------------


@pytest.mark.parametrize("status", [404, 410])
def test_a_project_upstream_no_longer_knows_is_taken_down(mirror, upstream, status):
    app = mirror(**ALWAYS_RECHECK)
    (old, new), urls = cached(app, upstream)
    files = upstream.index.projects["app-one"]
    if status == 404:
        del upstream.index.projects["app-one"]
    else:
        upstream.faults["/simple/app-one/"] = Fault("error", status=410)

    assert page(app, "app-one").json["files"] == []
    assert "<a " not in page(app, "app-one", headers=HTML).text
    for url in urls:
        assert "removed upstream" in app.get(url, status=410).text
    assert all(removed_record(app, w.filename)[1] for w in (old, new))  # bytes kept

    upstream.faults.clear()  # upstream lists it again: it comes back
    upstream.index.projects["app-one"] = files
    assert list(files_of(app, "app-one")) == [old.filename, new.filename]
    assert [app.get(url).body for url in urls] == [old.data, new.data]
    assert_app_store_consistent(app)


def test_a_taken_down_project_kept_by_the_repository_is_still_served(mirror, upstream):
    app = mirror(**ALWAYS_RECHECK)
    (old, new), urls = cached(app, upstream)
    set_repository(app, upstream_deletions="keep")
    del upstream.index.projects["app-one"]

    assert list(files_of(app, "app-one")) == [old.filename, new.filename]
    assert [app.get(url).body for url in urls] == [old.data, new.data]


def test_a_taken_down_project_with_nothing_cached_lists_nothing(mirror, upstream):
    app = mirror(**ALWAYS_RECHECK)
    wheel = publish(upstream, "app-one")
    url = file_url(app, "app-one", wheel.filename)
    del upstream.index.projects["app-one"]

    assert page(app, "app-one").json["files"] == []
    app.get(url, status=404)
    assert upstream.count("/files/" + wheel.filename) == 0


# --- PEP 792 statuses -------------------------------------------------------------------------


def test_a_quarantined_upstream_project_offers_no_files(mirror, upstream):
    app = mirror(**ALWAYS_RECHECK)
    (old, new), urls = cached(app, upstream)
    upstream.index.set_status("app-one", "quarantined", "malware in 2.0")

    data = page(app, "app-one").json
    assert data["project-status"] == {"status": "quarantined", "reason": "malware in 2.0"}
    assert data["files"] == [] and data["meta"]["api-version"] == "1.4"
    text = page(app, "app-one", headers=HTML, base="/simple/").text
    assert '<meta name="pypi:project-status" content="quarantined">' in text
    assert '<meta name="pypi:project-status-reason" content="malware in 2.0">' in text
    assert "<a " not in text
    for url in urls:
        assert "quarantined" in app.get(url, status=404).text

    upstream.index.set_status("app-one", None)  # lifted upstream: lifted here
    data = page(app, "app-one").json
    assert "project-status" not in data and len(data["files"]) == 2
    assert app.get(urls[0]).body == old.data


def test_a_first_answer_carries_upstreams_status_before_it_is_stored(mirror, upstream):
    publish(upstream, "app-one")
    upstream.index.set_status("app-one", "quarantined")
    app = mirror()

    first = page(app, "app-one").json  # served from upstream's answer, as the writer stores it
    assert first["project-status"] == {"status": "quarantined"} and first["files"] == []
    with opened(app) as root:
        assert root.repositories["default"]["app-one"].listing.status == "quarantined"


@pytest.mark.parametrize("status", ["archived", "deprecated"])
def test_an_archived_or_deprecated_project_shows_its_status_and_offers_its_files(
        mirror, upstream, status):
    upstream.index.json_pages = status == "archived"  # one of them from an HTML page
    app = mirror(**ALWAYS_RECHECK)
    (old, new), urls = cached(app, upstream)
    upstream.index.set_status("app-one", status, "see app-two")

    data = page(app, "app-one").json
    assert data["project-status"] == {"status": status, "reason": "see app-two"}
    assert list(files_of(app, "app-one")) == [old.filename, new.filename]
    assert f'<meta name="pypi:project-status" content="{status}">' in \
        page(app, "app-one", headers=HTML).text
    assert app.get(urls[1]).body == new.data


def test_an_unknown_status_upstream_is_as_if_none_was_said(mirror, upstream):
    app = mirror(**ALWAYS_RECHECK)
    (old, new), _ = cached(app, upstream)
    upstream.index.set_status("app-one", "on-holiday", "x" * 50)

    data = page(app, "app-one").json
    assert "project-status" not in data and len(data["files"]) == 2


def test_a_long_status_reason_is_cut(mirror, upstream):
    publish(upstream, "app-one")
    upstream.index.set_status("app-one", "deprecated", "y" * 5000)
    app = mirror()
    assert page(app, "app-one").json["project-status"]["reason"] == "y" * 1000


def test_upstreams_yank_and_unyank_of_a_cached_file_are_followed(mirror, upstream):
    app = mirror(**ALWAYS_RECHECK)
    (old, _), (url, _) = cached(app, upstream)
    upstream.index.file(old.filename).yanked = "bad build"
    assert files_of(app, "app-one")[old.filename]["yanked"] == "bad build"
    assert 'data-yanked="bad build"' in html_names(app)

    upstream.index.file(old.filename).yanked = False
    assert files_of(app, "app-one")[old.filename]["yanked"] is False
    assert app.get(url).body == old.data


# --- the admin's view -------------------------------------------------------------------------


def test_the_admin_page_shows_removed_files_and_admins_alone_may_inspect_them(
        mirror, upstream, admin):
    app = mirror(**ALWAYS_RECHECK)
    (old, new), (old_url, _) = cached(app, upstream)
    drop_upstream(upstream, old)
    upstream.index.set_status("app-one", "deprecated", "use app-two")
    files_of(app, "app-one")
    settled(app)

    browse = app.get("/repo/default/app-one/+browse", headers=admin).text
    assert "removed upstream on 20" in browse and "no longer served" in browse
    assert "Upstream marks this" in browse and "deprecated" in browse and "use app-two" in browse
    inspect = old_url + "/+inspect"
    assert f'href="http://localhost{inspect}"' in browse
    assert browse.count("/+inspect") == 1  # only the removed file has it
    got = app.get(inspect, headers=admin)
    assert got.body == old.data and "attachment" in got.headers["Content-Disposition"]
    assert got.headers["Cache-Control"] == "private, no-store"
    app.get(old_url, headers=admin, status=410)  # its own URL stays refused, for admins too
    assert "+login" in app.get(inspect, status=302).location  # anonymous readers: not
