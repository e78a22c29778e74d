"""The cooldown at the HTTP level: upstream files younger than the minimum age (or uploaded
after the fixed date, or at an unknown time) are not listed nor served; uploads never held."""
from __future__ import annotations

import datetime
import time

import pytest

from shop.model import repositories
from shop.services import services_of
from tests.factories import make_wheel
from tests.functional.conftest import uploaded
from tests.functional.test_mirror import HTML, JSON, file_url, files_of, mirror, page, publish, upstream  # noqa: F401
from tests.storecheck import opened, settled

PIP = {"Accept": "application/vnd.pypi.simple.v1+json", "Accept-Encoding": "gzip"}


def iso(when: datetime.datetime) -> str:
    return when.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def ago(**kw) -> str:
    return iso(datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(**kw))


def configure(app, **settings):
    with opened(app) as root:
        repositories.configure(root.repositories["default"], **settings)


@pytest.fixture
def two_versions(upstream):
    """app-one 1.0 (a year old) and 1.1 (uploaded upstream yesterday)."""
    old = publish(upstream, "app-one", "1.0", upload_time=ago(days=365))
    new = publish(upstream, "app-one", "1.1", upload_time=ago(days=1))
    return old, new


def test_a_young_upstream_file_is_neither_listed_nor_served(mirror, two_versions):
    old, new = two_versions
    app = mirror()
    new_url = file_url(app, "app-one", new.filename)
    assert app.get(new_url).body == new.data  # cached before the cooldown is set
    settled(app)
    configure(app, min_age="7d")

    assert set(files_of(app, "app-one")) == {old.filename}
    assert page(app, "app-one").json["versions"] == ["1.0"]
    assert new.filename not in page(app, "app-one", headers=HTML).text
    refused = app.get(new_url, status=404)
    assert "held back by the repository's cooldown" in refused.status
    assert "younger than 7d" in refused.text
    assert app.get(new_url + ".metadata", status=404).status.count("cooldown") == 1
    assert app.get(file_url(app, "app-one", old.filename)).body == old.data


def test_an_exemption_lets_one_version_or_project_through(mirror, two_versions):
    old, new = two_versions
    app = mirror()
    configure(app, min_age="7d", cooldown_exempt="App_One==1.1")
    assert set(files_of(app, "app-one")) == {old.filename, new.filename}
    configure(app, cooldown_exempt="app-one==1.0")  # another version: 1.1 held again
    assert set(files_of(app, "app-one")) == {old.filename}
    configure(app, cooldown_exempt="app-one")  # the whole project
    assert set(files_of(app, "app-one")) == {old.filename, new.filename}
    configure(app, cooldown_exempt="")
    assert set(files_of(app, "app-one")) == {old.filename}


def test_an_unknown_upload_time_fails_closed(mirror, upstream):
    known = publish(upstream, "app-one", "1.0", upload_time=ago(days=365))
    unknown = publish(upstream, "app-one", "1.1", upload_time=None)
    app = mirror()
    assert set(files_of(app, "app-one")) == {known.filename, unknown.filename}  # no cooldown
    configure(app, min_age="1h")
    assert set(files_of(app, "app-one")) == {known.filename}
    assert "of unknown upload time" in app.get(
        "/repo/default/app-one/1.1/" + unknown.filename, status=404).status


def test_an_html_only_upstream_says_no_upload_times_so_all_is_held(mirror, upstream):
    upstream.index.json_pages = False
    publish(upstream, "app-one", "1.0", upload_time=ago(days=365))
    app = mirror()
    configure(app, min_age="7d")
    assert page(app, "app-one").json["files"] == []
    assert page(app, "app-one").json["versions"] == []


def test_exclude_newer_is_a_fixed_cut_off(mirror, two_versions):
    old, new = two_versions
    app = mirror()
    configure(app, exclude_newer=ago(days=30)[:10])  # a date: midnight UTC
    assert set(files_of(app, "app-one")) == {old.filename}
    assert "uploaded after" in app.get("/repo/default/app-one/1.1/" + new.filename,
                                       status=404).text
    configure(app, exclude_newer="none")
    assert set(files_of(app, "app-one")) == {old.filename, new.filename}


def test_uploads_are_never_held_back(make_app):
    app = make_app()
    configure(app, min_age="30d", exclude_newer="2001-01-01")
    uploaded(app, make_wheel("inhouse", "1.0"))
    files = app.get("/simple/inhouse/", headers={"Accept": JSON["Accept"]}).json["files"]
    assert [f["filename"] for f in files] == ["inhouse-1.0-py3-none-any.whl"]
    app.get("/simple/inhouse/1/inhouse-1.0-py3-none-any.whl", status=200)


def test_bad_settings_are_refused_and_change_nothing(make_app):
    app = make_app()
    for bad in ({"min_age": "7 days"}, {"min_age": "-1d"}, {"exclude_newer": "yesterday"},
                {"cooldown_exempt": "a==b==c"}, {"min_age": "7d", "exclude_newer": "soon"}):
        with pytest.raises(repositories.RepositoryError):
            configure(app, **bad)
    with opened(app) as root:
        default = root.repositories["default"]
        assert (default.min_age, default.exclude_newer, default.cooldown_exempt) == (None, None, ())


def test_a_kept_page_does_not_outlive_the_cooldown_boundary(mirror, upstream):
    """The page (kept per process) and its replay to anonymous clients end when the held
    file comes of age: nothing in the database changes then."""
    boundary = datetime.timedelta(days=7) - datetime.timedelta(seconds=2)
    publish(upstream, "app-one", "1.0", upload_time=ago(days=365))
    young = publish(upstream, "app-one", "1.1", upload_time=ago(seconds=boundary.total_seconds()))
    app = mirror(**{"shop.mirror.index_ttl": "3600"})
    configure(app, min_age="7d")
    first = app.get("/repo/default/app-one/", headers=PIP)
    assert young.filename.encode() not in first.body
    replay = services_of(app.app.registry).replay
    hits = replay.hits
    assert app.get("/repo/default/app-one/", headers=PIP).body == first.body
    assert replay.hits == hits + 1  # replayed while the file is young
    time.sleep(2.5)
    later = app.get("/repo/default/app-one/", headers=PIP)
    assert young.filename in later.json["files"][-1]["filename"]
    assert replay.hits == hits + 1  # not replayed past the boundary
    assert young.filename in app.get("/repo/default/app-one/", headers={"Accept": "text/html"}).text


def test_a_cooldown_change_shows_at_once_to_replayed_clients(mirror, two_versions):
    old, new = two_versions
    app = mirror(**{"shop.mirror.index_ttl": "3600"})
    for _ in range(2):
        assert new.filename in app.get("/repo/default/app-one/", headers=PIP).json["files"][-1]["filename"]
    configure(app, min_age="7d")
    files = app.get("/repo/default/app-one/", headers=PIP).json["files"]
    assert [f["filename"] for f in files] == [old.filename]
