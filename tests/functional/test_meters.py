"""The counts (``shop.meters``) noted where things happen, as the app's requests make them: what
the metrics of ``/+metrics`` and the dashboard's daily counts are made of."""
from __future__ import annotations

import pytest

from shop import meters
from shop.services import services_of
from tests.factories import make_wheel
from tests.functional.conftest import ADMIN, ANONYMOUS_READ, JSON, upload
from tests.functional.test_mirror import file_url, mirror, publish, upstream  # noqa: F401 (fixtures)
from tests.functional.test_retention_server import tick_now
from tests.storecheck import opened, settled


def noted(app) -> list[tuple[str, float, dict]]:
    """Every note the app makes from now on, as (event, amount, labels), in order."""
    found: list = []
    services_of(app.app.registry).meters.listen(lambda *note: found.append(note))
    return found


def events(notes, event: str) -> list[tuple[float, dict]]:
    return [(amount, labels) for name, amount, labels in notes if name == event]


def requests(notes) -> list[tuple[str, str]]:
    """(kind, status) of each REQUEST noted."""
    return [(labels["kind"], labels["status"]) for _, labels in events(notes, meters.REQUEST)]


@pytest.fixture
def hosted(make_app):
    return make_app(**ANONYMOUS_READ, **{"shop.argon2_profile": "cheapest"})


def test_an_upload_notes_its_bytes_once_committed_and_a_refused_or_repeated_one_nothing(hosted):
    notes = noted(hosted)
    wheel = make_wheel("counted", "1.0")
    assert upload(hosted, wheel).status_int == 200
    assert events(notes, meters.UPLOAD) == [(len(wheel.data), {"repository": "default"})]
    assert upload(hosted, wheel).status_int == 200  # the same bytes again: nothing published
    assert upload(hosted, make_wheel("counted", "2.0"), sha256_digest="0" * 64).status_int == 400
    assert len(events(notes, meters.UPLOAD)) == 1
    assert requests(notes) == [("upload", "200"), ("upload", "200"), ("upload", "400")]
    assert all(seconds >= 0 for seconds, _ in events(notes, meters.REQUEST))


def test_pages_note_the_page_cache_and_the_replay_and_files_their_download(hosted):
    wheel = make_wheel("counted", "1.0")
    upload(hosted, wheel)
    notes = noted(hosted)
    files = hosted.get("/simple/counted/", headers={"Accept": JSON}).json["files"]
    hosted.get("/simple/counted/", headers={"Accept": JSON})  # the same anonymous request
    hosted.get("/simple/counted/", headers={"Accept": JSON, **ADMIN})  # not replayed
    assert [labels["outcome"] for _, labels in events(notes, meters.REPLAY)] == ["miss", "hit"]
    assert [labels["outcome"] for _, labels in events(notes, meters.PAGE_CACHE)] == ["miss", "hit"]
    hosted.get(f"/simple/counted/{files[0]['url']}")
    hosted.head(f"/simple/counted/{files[0]['url']}")  # a request, but no download
    hosted.get(f"/simple/counted/{files[0]['url']}.metadata")
    hosted.get("/+repositories", headers=ADMIN)
    hosted.get("/simple/nothing-here/", status=404)
    assert events(notes, meters.DOWNLOAD) == [
        (1.0, {"repository": "default", "origin": "hosted", "cache": "hit"})]
    assert requests(notes) == [("page", "200")] * 3 + [
        ("file", "200"), ("file", "200"), ("metadata", "200"), ("admin", "200"), ("page", "404")]


def test_the_mirror_notes_upstream_requests_bytes_downloads_stores_and_evictions(mirror, upstream):
    wheel = publish(upstream, "far-off", padding=5_000)
    app = mirror()
    notes = noted(app)
    url = file_url(app, "far-off", wheel.filename)
    app.get(url)
    settled(app)
    app.get(url)
    assert [labels for _, labels in events(notes, meters.UPSTREAM)] == [{"outcome": "ok"}] * 2
    received = sum(amount for amount, _ in events(notes, meters.UPSTREAM_BYTES))
    assert received > len(wheel.data)  # the page, then the file
    assert [labels["cache"] for _, labels in events(notes, meters.DOWNLOAD)] == ["miss", "hit"]
    assert {labels["origin"] for _, labels in events(notes, meters.DOWNLOAD)} == {"mirrored"}
    assert events(notes, meters.MIRROR_STORE) == [(len(wheel.data), {"repository": "default"})]
    with opened(app) as root:
        root.repositories["default"].mirror_cache_size = 1
    tick_now(app)
    assert events(notes, meters.MIRROR_EVICT) == [(len(wheel.data), {"repository": "default"})]


def test_a_stopped_upstream_is_noted_as_an_upstream_error(mirror, upstream):
    app = mirror(**{"shop.upstream.timeout": "0.5 0.5"})
    notes = noted(app)
    upstream.stop()
    app.get("/repo/default/gone-away/", headers={"Accept": JSON}, status=502)
    assert [labels for _, labels in events(notes, meters.UPSTREAM)] == [{"outcome": "error"}]
