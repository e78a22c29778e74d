"""Anonymous page requests are answered again from memory, and never once anything changed."""
from __future__ import annotations

import time

import pytest

from shop.model import repositories
from shop.services import services_of
from tests.factories import make_wheel
from tests.functional.conftest import ADMIN, ANONYMOUS_READ, JSON, database_root, uploaded, yank
from tests.storecheck import settled
from tests.upstream import FakeIndex, UpstreamServer

PIP = {"Accept": JSON, "Accept-Encoding": "gzip, deflate"}


def replays(app) -> int:
    return services_of(app.app.registry).replay.hits


def answer(app, path: str, headers: dict | None = None, status: int | str = 200, **environ):
    """GET ``path``; the status, the headers that matter to clients, and the body."""
    r = app.get(path, headers=headers or PIP, status=status, extra_environ=environ or None)
    kept = ("Content-Type", "Content-Encoding", "Content-Length", "ETag", "Vary", "Cache-Control")
    return r.status, {k: r.headers.get(k) for k in kept}, r.body


def test_the_same_anonymous_request_is_answered_again_until_something_changes(app):
    uploaded(app, make_wheel("demo", "1.0"))
    for path in ("/repo/default/", "/simple/demo/"):
        first = answer(app, path)
        before = replays(app)
        assert answer(app, path) == first  # the same answer, headers and all
        assert replays(app) == before + 1

    uploaded(app, make_wheel("demo", "2.0"))
    before = replays(app)
    status, headers, body = answer(app, "/simple/demo/")
    assert replays(app) == before  # the upload moved the database on: answered in full
    assert b"demo-2.0-py3-none-any.whl" in app.get("/simple/demo/", headers={"Accept": JSON}).body
    assert answer(app, "/simple/demo/") == (status, headers, body)
    assert replays(app) == before + 1  # and kept again


@pytest.mark.parametrize("change", ["yank", "upload another project", "delete"])
def test_every_change_shows_at_once(app, change):
    uploaded(app, make_wheel("demo", "1.0"), make_wheel("demo", "2.0"))
    for _ in range(2):  # kept, then replayed
        app.get("/simple/demo/", headers=PIP), app.get("/simple/", headers=PIP)
    if change == "yank":
        yank(app, "demo", "2", "demo-2.0-py3-none-any.whl", "broken")
    elif change == "upload another project":
        uploaded(app, make_wheel("other", "1.0"))
    else:
        with database_root(app) as tree:
            repositories.delete(repositories.find_release(tree.repositories["default"], "demo", "2.0"))
    # The very requests that were replayed before the change:
    files = app.get("/simple/demo/", headers=PIP).json["files"]
    projects = [p["name"] for p in app.get("/simple/", headers=PIP).json["projects"]]
    if change == "yank":
        assert files[1]["yanked"] == "broken"
    elif change == "upload another project":
        assert projects == ["demo", "other"]
    else:
        assert [f["filename"] for f in files] == ["demo-1.0-py3-none-any.whl"]


def test_a_repository_closed_to_anonymous_readers_refuses_them_at_once(app):
    uploaded(app, make_wheel("demo", "1.0"))
    answer(app, "/simple/demo/")
    answer(app, "/simple/demo/")  # kept and replayed
    with database_root(app) as tree:
        repositories.configure(tree.repositories["default"], anonymous_read=False)
    status, _, _ = answer(app, "/simple/demo/", status=401)
    assert status.startswith("401")
    assert answer(app, "/simple/demo/", headers={**PIP, **ADMIN})[0] == "200 OK"


def test_read_networks_are_decided_for_each_address(make_app):
    app = make_app(**{"shop.default.anonymous_read": "false", "shop.default.read_networks": "10.0.0.0/8"})
    uploaded(app, make_wheel("demo", "1.0"))
    inside = answer(app, "/simple/demo/", REMOTE_ADDR="10.1.2.3")
    before = replays(app)
    assert answer(app, "/simple/demo/", REMOTE_ADDR="10.1.2.3") == inside
    assert replays(app) == before + 1
    assert answer(app, "/simple/demo/", status=401, REMOTE_ADDR="192.0.2.7")[0].startswith("401")


@pytest.mark.parametrize("headers", [
    {"Authorization": ADMIN["Authorization"]},
    {"Cookie": "anything=1"},
    {"Range": "bytes=0-9"},
])
def test_requests_with_credentials_cookies_or_ranges_are_answered_in_full(app, headers):
    uploaded(app, make_wheel("demo", "1.0"))
    answer(app, "/simple/demo/")
    before = replays(app)
    answer(app, "/simple/demo/", {**PIP, **headers}, status="*")
    answer(app, "/simple/demo/", {**PIP, **headers}, status="*")
    assert replays(app) == before


def test_a_revalidating_client_still_gets_its_304(app):
    uploaded(app, make_wheel("demo", "1.0"))
    _, headers, _ = answer(app, "/simple/demo/")
    answer(app, "/simple/demo/")
    r = app.get("/simple/demo/", headers={**PIP, "If-None-Match": headers["ETag"]}, status=304)
    assert r.body == b""


def test_each_representation_is_kept_apart(app):
    uploaded(app, *(make_wheel("demo", v) for v in ("1.0", "2.0", "3.0")))  # big enough for gzip
    representations = [
        {"Accept": JSON}, {"Accept": JSON, "Accept-Encoding": "gzip"}, {"Accept": "text/html"}, {},
    ]
    first = [answer(app, "/simple/demo/", h) for h in representations]
    assert [answer(app, "/simple/demo/", h) for h in representations] == first
    assert len({headers["ETag"] for _, headers, _ in first}) == 3  # {} is text/html too
    assert first[1][1]["ETag"].endswith('-gzip"')  # (WebTest decodes the body itself)


def test_only_pages_answered_200_are_kept(app):
    before = replays(app)
    for _ in range(2):
        app.get("/simple/missing/", headers=PIP, status=404)
        app.head("/simple/", headers=PIP, status=200)
    assert replays(app) == before


@pytest.mark.parametrize(("ttl", "replayed", "asked"), [("0", 0, 3), ("600", 1, 1)])
def test_a_mirrored_page_is_replayed_only_while_upstream_is_not_due(make_app, ttl, replayed, asked):
    index = FakeIndex()
    index.add("mirrored", make_wheel("mirrored", "1.0"))
    with UpstreamServer(index) as upstream:
        app = make_app(**ANONYMOUS_READ, **{
            "shop.upstream": upstream.url, "shop.mirror.index_ttl": ttl, "shop.argon2_profile": "cheapest",
        })
        pages = {app.get("/simple/mirrored/", headers=PIP).body}
        settled(app)
        pages |= {app.get("/simple/mirrored/", headers=PIP).body for _ in range(2)}
        # The first look-up is answered, then stored by the writer (a commit: what was kept
        # of it ends); the second is kept once upstream is not due; the third is replayed.
        assert len(pages) == 1
        assert replays(app) == replayed and upstream.count("/simple/mirrored/") == asked


def test_no_replays_without_a_page_cache(make_app):
    app = make_app(**ANONYMOUS_READ, **{"shop.page_cache_size": "0"})
    assert services_of(app.app.registry).replay is None
    uploaded(app, make_wheel("demo", "1.0"))
    assert app.get("/simple/demo/", headers={"Accept": JSON}).json["name"] == "demo"


def test_a_replayed_mirror_page_expires_when_upstream_is_due(make_app):
    index = FakeIndex()
    index.add("mirrored", make_wheel("mirrored", "1.0"))
    with UpstreamServer(index) as upstream:
        app = make_app(**ANONYMOUS_READ, **{
            "shop.upstream": upstream.url, "shop.mirror.index_ttl": "1", "shop.argon2_profile": "cheapest",
        })
        for i in range(3):  # stored, kept, replayed
            app.get("/simple/mirrored/", headers=PIP)
            if i == 0:
                settled(app)
        assert replays(app) == 1
        index.add("mirrored", make_wheel("mirrored", "2.0"))
        time.sleep(1.2)  # the one-second TTL runs out
        files = app.get("/simple/mirrored/", headers=PIP).json["files"]
    assert len(files) == 2
