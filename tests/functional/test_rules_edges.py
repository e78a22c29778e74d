"""The edges of the supply-chain rules a review found, at the HTTP level: a page that is no
index's is no takedown, a release the rules refuse shows nothing in the JSON API, a hosted
project's status survives upstream's new answers."""
from __future__ import annotations

import pytest

from shop.model import blocking, repositories, status
from tests.functional.test_mirror import (ALWAYS_RECHECK, JSON, file_url, files_of, mirror,  # noqa: F401
                                          page, publish, upload, upstream)
from tests.factories import make_wheel
from tests.functional.conftest import ADMIN, uploaded
from tests.storecheck import opened, settled
from tests.upstream import Fault


PORTALS = [b"<html><body>Please log in</body></html>",
           b'<html><body>Please <a href="/login">log in</a> <a href="/help">help</a></body></html>']
# devpi's page of a project without files: no pypi:repository-version, "links for" its name.
DEVPI_EMPTY = (b'<!DOCTYPE html><html lang="en"><head><title>root/pypi: links for app-one</title>'
               b"</head><body><h1>root/pypi: links for app-one</h1></body></html>")


def cached_then(mirror, upstream, body: bytes):
    """app-one's wheel fetched through the mirror, then upstream's page answered by ``body``
    at the re-check; the app, the wheel and its URL."""
    wheel = publish(upstream, "app-one")
    app = mirror(**ALWAYS_RECHECK)
    url = file_url(app, "app-one", wheel.filename)
    assert app.get(url).body == wheel.data
    settled(app)
    upstream.faults["/simple/app-one/"] = Fault("html", body=body)
    return app, wheel, url


@pytest.mark.parametrize("body", PORTALS)
def test_an_html_page_of_no_index_takes_nothing_down(mirror, upstream, body):
    app, wheel, url = cached_then(mirror, upstream, body)
    assert set(files_of(app, "app-one")) == {wheel.filename}  # the cached page, as when down
    settled(app)
    assert app.get(url).body == wheel.data
    with opened(app) as root:
        assert root.repositories["default"]["app-one"]["1"][wheel.filename].removed_upstream is None


def test_an_index_page_of_no_files_is_a_takedown_with_or_without_its_meta_tag(mirror, upstream):
    app, wheel, url = cached_then(mirror, upstream, DEVPI_EMPTY)
    assert files_of(app, "app-one") == {}
    settled(app)
    assert "removed upstream" in app.get(url, status=410).status


def test_the_json_api_shows_nothing_of_a_release_the_rules_refuse(mirror, upstream):
    publish(upstream, "app-one", "1.0")
    publish(upstream, "app-one", "2.0")
    app = mirror()
    assert app.get("/pypi/app-one/json").json["info"]["version"] == "2.0"
    with opened(app) as root:
        blocking.add_block(root, "app-one==2.0", "compromised")
    assert app.get("/pypi/app-one/json").json["info"]["version"] == "1.0"
    refused = app.get("/pypi/app-one/2.0/json", status=403)
    assert "app-one 2.0 is not offered here" in refused.status and "compromised" in refused.text
    with opened(app) as root:
        blocking.add_block(root, "app-one", "MAL-2026-9")
    whole = app.get("/pypi/app-one/json").json
    assert whole["info"]["version"] is None and whole["releases"] == {} and whole["urls"] == []


def test_a_quarantined_hosted_project_stays_so_when_upstream_answers_anew(mirror, upstream):
    publish(upstream, "app-one", "1.0")
    app = mirror(**ALWAYS_RECHECK)
    assert upload(app, ADMIN, make_wheel("app-one", "5.0")).status_int == 200
    with opened(app) as root:
        default = root.repositories["default"]
        repositories.configure(default, merge_allowed=["app-one"])
        status.set_status(default["app-one"], "quarantined", "found malware")
    publish(upstream, "app-one", "1.1")  # a new answer: served before it is stored
    for _ in range(2):
        shown = page(app, "app-one").json
        assert shown["files"] == [] and shown["project-status"]["status"] == "quarantined"
        settled(app)


def test_refused_downloads_are_counted_by_rule(make_app):
    from tests.functional.test_monitoring import scrape

    app = make_app(**{"shop.default.anonymous_read": "true"})
    uploaded(app, make_wheel("demo", "1.0"), make_wheel("demo", "2.0"))
    with opened(app) as root:
        blocking.add_block(root, "demo==2.0", "compromised")
    app.get("/simple/demo/2/demo-2.0-py3-none-any.whl", status=403)
    app.get("/simple/demo/2/demo-2.0-py3-none-any.whl.metadata", status=403)
    app.get("/simple/demo/1/demo-1.0-py3-none-any.whl", status=200)
    counted = scrape(app)
    key = ("localshop_refused_downloads_total", (("repository", "default"), ("rule", "blocked")))
    assert counted[key] == 2
