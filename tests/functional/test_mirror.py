"""The mirror through WebTest: a real upstream index on loopback, a real FileStorage in tmp_path.

Every test that provokes a fault ends by checking that the store holds no file whose bytes
fail their own sha256 (``assert_app_store_consistent``).
"""
from __future__ import annotations

import hashlib
import json
import os
import time

import pytest

from shop.pages import simple
from shop.mirror.storing import DownloadFailed
from shop.services import services_of
from tests.factories import make_sdist, make_wheel, upload_fields
from tests.storecheck import app_db, assert_app_store_consistent, opened, stored
from tests.upstream import FakeIndex, Fault, TimedUpstreamServer

JSON = {"Accept": "application/vnd.pypi.simple.v1+json"}
HTML = {"Accept": "text/html"}
# Small timeouts so that a hanging upstream costs well under a second per request.
FAST = {"shop.upstream.timeout": "0.5 0.5"}
ALWAYS_RECHECK = {"shop.mirror.index_ttl": "0"}


# --- fixtures and helpers ---------------------------------------------------------------------


@pytest.fixture
def upstream():
    with TimedUpstreamServer(FakeIndex()) as server:
        yield server


@pytest.fixture
def mirror(make_app, upstream):
    """Build the app mirroring ``upstream`` (or ``up``); extra settings as keyword arguments."""
    apps = []

    def factory(up=None, **settings):
        # argon2id at its lowest cost: the default spends ~0.4 s per app and upload.
        app = make_app(**{"shop.upstream": (up or upstream).url, "shop.argon2_profile": "cheapest",
                          **settings})
        apps.append(app)
        return app

    yield factory
    for app in apps:  # no pooled upstream socket may outlive the test (ResourceWarning)
        services = services_of(app.app.registry)
        services.downloads.close()
        services.upstream.session.close()


def publish(upstream, name, version="1.0", **kw):
    """Put a wheel of ``name`` on the upstream index; return the Dist."""
    wheel = make_wheel(name, version, **{k: kw.pop(k) for k in ("requires_dist", "padding") if k in kw})
    upstream.index.add(name, wheel, **kw)
    return wheel


def page(app, project, headers=JSON, base="/repo/default/", status=200):
    return app.get(f"{base}{project}/", headers=headers, status=status)


def files_of(app, project, base="/repo/default/") -> dict:
    """{filename: file entry} of the JSON project page."""
    return {f["filename"]: f for f in page(app, project, base=base).json["files"]}


def file_url(app, project, filename, base="/repo/default/") -> str:
    return f"{base}{project}/" + files_of(app, project, base)[filename]["url"]


def html_links(body: str) -> list[str]:
    return [line.strip() for line in body.splitlines() if line.strip().startswith("<a ")]


def set_repository(app, **attributes) -> None:
    """Change the default repository in the app's own database (there is no UI for it yet)."""
    with opened(app) as root:
        repository = root.repositories["default"]
        for name, value in attributes.items():
            setattr(repository, name, value)


def upload(app, admin, dist, status=200):
    return app.post(
        "/repo/default/", upload_fields(dist),
        upload_files=[("content", dist.filename, dist.data)], headers=admin, status=status,
    )


def get_not_delivered(app, url):
    """GET a file whose download must fail: either a 502, or a 200 aborted before its last byte.

    With WebTest the aborted body surfaces as the exception the app iterator raised.
    Returns what happened, for the message of a failing assertion.
    """
    try:
        response = app.get(url, expect_errors=True)
    except DownloadFailed as e:
        return f"aborted: {e}"
    assert response.status_int == 502, (
        f"a bad upstream file reached the client as {response.status}, {len(response.body)} bytes"
    )
    return f"502: {response.text.strip()}"


def mirror_temp_files(app) -> list[str]:
    """Download leftovers in the blob storage's temporary directory."""
    tmp = app_db(app).storage.temporaryDirectory()
    return [n for n in os.listdir(tmp) if n.startswith(("mirror-", "metadata-"))]


def assert_no_temp_files_left(app) -> None:
    """The download thread removes its temporary file just after the client's last byte."""
    wait_until(lambda: mirror_temp_files(app) == [], timeout=5, what="temporary files to go")


def wait_until(predicate, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


# --- the basic flow ---------------------------------------------------------------------------


def test_project_page_is_looked_up_upstream_with_local_links(mirror, upstream):
    wheel = publish(upstream, "app-one")
    app = mirror()

    entry = files_of(app, "app-one")[wheel.filename]

    assert entry["url"] == f"1/{wheel.filename}"  # relative: served by localshop, not upstream
    assert entry["hashes"] == {"sha256": wheel.sha256}
    html = page(app, "app-one", headers=HTML, base="/simple/").text
    assert f'href="1/{wheel.filename}#sha256={wheel.sha256}"' in html
    redirect = app.get("/simple/App_One/", status=301)
    assert redirect.headers["Location"].endswith("/simple/app-one/")
    assert upstream.count("/simple/app-one/") == 1  # within the TTL: asked once
    assert upstream.count(wheel.filename) == 0  # files are fetched on demand only


def test_file_is_fetched_once_verified_stored_and_then_served_locally(mirror, upstream):
    wheel = publish(upstream, "app-one")
    app = mirror()
    url = file_url(app, "app-one", wheel.filename)

    first = app.get(url)
    second = app.get(url)
    under_simple = app.get(file_url(app, "app-one", wheel.filename, base="/simple/"))

    assert first.body == wheel.data and second.body == wheel.data and under_simple.body == wheel.data
    assert second.headers["ETag"] == f'"{wheel.sha256}"'
    assert upstream.count("/files/" + wheel.filename) == 1
    record = stored(app, wheel.filename)
    assert record.blob_sha256 == wheel.sha256 and record.origin == "mirror"
    assert_no_temp_files_left(app)
    assert_app_store_consistent(app)


def test_core_metadata_of_a_mirrored_wheel_is_fetched_once_and_stored(mirror, upstream):
    wheel = publish(upstream, "app-one", requires_dist=("dep-two",))
    metadata = upstream.index.file(wheel.filename).metadata
    app = mirror()
    entry = files_of(app, "app-one")[wheel.filename]
    assert entry["core-metadata"] == {"sha256": hashlib.sha256(metadata).hexdigest()}
    url = file_url(app, "app-one", wheel.filename) + ".metadata"

    assert app.get(url).body == metadata
    assert app.get(url).body == metadata

    assert upstream.count(wheel.filename + ".metadata") == 1
    assert upstream.count("/files/" + wheel.filename) == 0  # the wheel itself is not needed
    assert stored(app, wheel.filename).metadata_blob_sha256 == hashlib.sha256(metadata).hexdigest()
    assert_app_store_consistent(app)


# --- upstream trouble on project pages --------------------------------------------------------

# kind -> (how to provoke it, what the 502 says)
PAGE_FAULTS = {
    "hang": (lambda up: up.faults.update({"/simple/app-one/": Fault("hang", seconds=3)}), "timed out"),
    "500": (lambda up: up.faults.update({"/simple/app-one/": Fault("error", status=500)}), "500"),
    "garbage": (lambda up: up.faults.update({"/simple/app-one/": Fault("garbage")}), "cannot be read"),
    "refused": (lambda up: up.stop(), "cannot reach upstream"),
}


@pytest.mark.parametrize("kind", PAGE_FAULTS)
def test_upstream_trouble_without_a_cached_page_is_502_naming_the_problem(mirror, upstream, kind):
    publish(upstream, "app-one")
    provoke, says = PAGE_FAULTS[kind]
    app = mirror(**FAST)
    provoke(upstream)

    for base in ("/repo/default/", "/simple/"):
        response = page(app, "app-one", base=base, status=502)
        assert "app-one" in response.text and says in response.text, response.text
    assert app.get("/repo/default/", headers=JSON).json["projects"] == []  # nothing was added
    assert_app_store_consistent(app)


@pytest.mark.parametrize("kind", PAGE_FAULTS)
def test_upstream_trouble_with_a_cached_page_serves_the_stale_page(mirror, upstream, kind):
    wheel = publish(upstream, "app-one")
    provoke, _says = PAGE_FAULTS[kind]
    app = mirror(**FAST, **ALWAYS_RECHECK)
    fresh_html = page(app, "app-one", headers=HTML).body
    fresh_json = page(app, "app-one").json
    asked = upstream.count("/simple/app-one/")
    provoke(upstream)
    before = app_db(app).lastTransaction()

    stale_html = page(app, "app-one", headers=HTML).body
    stale_json = page(app, "app-one").json

    assert stale_html == fresh_html and stale_json == fresh_json
    assert [f["filename"] for f in stale_json["files"]] == [wheel.filename]
    if kind != "refused":  # upstream was asked again (the page is stale), and failed
        assert upstream.count("/simple/app-one/") == asked + 2
    assert app_db(app).lastTransaction() == before  # a failed re-check writes nothing
    assert_app_store_consistent(app)


def test_project_upstream_does_not_know_is_404(mirror, upstream):
    publish(upstream, "app-one")
    app = mirror()

    answers = [page(app, "no-such-project", status=404),
               page(app, "no-such-project", base="/simple/", status=404),
               app.get("/pypi/no-such-project/json", status=404)]

    for response in answers:  # the view's reason, not the generic one of the 404 view
        assert "project no-such-project is not in this repository nor upstream" in response.text
        assert "nor upstream" in response.status
    # Like a stored project's URLs: they are read, and only read.
    assert "Method not allowed" in app.post("/simple/no-such-project/", status=405).text
    assert upstream.count("/simple/no-such-project/") == 1  # the 404 is remembered a while
    assert_app_store_consistent(app)


# --- upstream trouble on files ----------------------------------------------------------------


BAD_FILES = {
    "truncate": Fault("truncate", times=1),
    "corrupt": Fault("corrupt", times=1),
    # Sent slowly: the client surely has its 200 and most bytes before the hash can fail.
    "corrupt-streaming": Fault("corrupt", seconds=0.01, times=1),
}


@pytest.mark.parametrize("kind", BAD_FILES)
def test_bad_upstream_bytes_never_reach_a_client_whole_nor_the_store(mirror, upstream, kind):
    wheel = publish(upstream, "app-one", padding=600 * 1024)  # several chunks
    app = mirror()
    url = file_url(app, "app-one", wheel.filename)
    upstream.faults["/files/" + wheel.filename] = BAD_FILES[kind]

    outcome = get_not_delivered(app, url)

    if kind == "corrupt-streaming":
        assert outcome.startswith("aborted") and "sha256" in outcome, outcome
    record = stored(app, wheel.filename)
    assert record.blob_sha256 is None, outcome  # nothing stored
    assert record.sha256 == wheel.sha256  # and the published hash is still the one expected
    assert_no_temp_files_left(app)
    assert_app_store_consistent(app)

    # The fault is gone: the next request downloads again, and this time stores the file.
    assert app.get(url).body == wheel.data
    assert upstream.count("/files/" + wheel.filename) == 2
    assert stored(app, wheel.filename).blob_sha256 == wheel.sha256
    assert_app_store_consistent(app)


def test_request_right_after_a_failed_download_starts_a_new_one(mirror, upstream):
    # Whether the failed download is still registered when the retry comes is a race;
    # tests/unit/test_downloads.py pins the case where it is.
    wheel = publish(upstream, "app-one")
    app = mirror()
    url = file_url(app, "app-one", wheel.filename)
    upstream.faults["/files/" + wheel.filename] = Fault("corrupt", times=1)
    get_not_delivered(app, url)

    retry = app.get(url, expect_errors=True)

    assert retry.status_int == 200, retry.status
    assert retry.body == wheel.data


@pytest.mark.parametrize("fault", [Fault("error", status=500), Fault("hang", seconds=3)],
                         ids=["500", "hang"])
def test_upstream_failing_to_send_a_file_is_502_and_stores_nothing(mirror, upstream, fault):
    wheel = publish(upstream, "app-one")
    app = mirror(**FAST)
    url = file_url(app, "app-one", wheel.filename)
    upstream.faults["/files/" + wheel.filename] = fault

    response = app.get(url, status=502)

    assert wheel.filename in response.text or "upstream" in response.text.lower()
    assert stored(app, wheel.filename).blob_sha256 is None
    assert_app_store_consistent(app)


def test_core_metadata_that_does_not_match_its_hash_is_502_and_not_stored(mirror, upstream):
    wheel = publish(upstream, "app-one")
    app = mirror()
    url = file_url(app, "app-one", wheel.filename) + ".metadata"
    upstream.faults[wheel.filename + ".metadata"] = Fault("corrupt", times=1)

    app.get(url, status=502)
    assert stored(app, wheel.filename).metadata_blob_sha256 is None
    assert_app_store_consistent(app)

    assert app.get(url).body == upstream.index.file(wheel.filename).metadata
    assert_app_store_consistent(app)


# --- redirect mode ----------------------------------------------------------------------------


def test_redirect_mode_sends_the_first_client_upstream_then_serves_locally(mirror, upstream):
    wheel = publish(upstream, "app-one")
    app = mirror()
    set_repository(app, mirror_mode="redirect")
    url = file_url(app, "app-one", wheel.filename)

    first = app.get(url, status=302)

    assert first.headers["Location"] == upstream.url.replace("/simple/", "/files/") + wheel.filename
    wait_until(lambda: (stored(app, wheel.filename).blob_sha256 is not None),
               what="the background download to be stored")
    second = app.get(url, status=200)
    assert second.body == wheel.data
    assert upstream.count("/files/" + wheel.filename) == 1  # the client itself never came here
    assert_app_store_consistent(app)


def test_redirect_mode_does_not_store_a_corrupt_file(mirror, upstream):
    wheel = publish(upstream, "app-one")
    app = mirror()
    set_repository(app, mirror_mode="redirect")
    url = file_url(app, "app-one", wheel.filename)
    upstream.faults["/files/" + wheel.filename] = Fault("corrupt", times=1)

    app.get(url, status=302)
    wait_until(lambda: upstream.count("/files/" + wheel.filename) == 1, what="the upstream fetch")
    assert_no_temp_files_left(app)

    assert stored(app, wheel.filename).blob_sha256 is None
    assert_app_store_consistent(app)


# --- hosted beats mirrored (dependency confusion) ---------------------------------------------


def test_uploading_a_mirrored_project_hides_upstream_files(mirror, upstream, admin):
    theirs = publish(upstream, "foo", "9.0")
    app = mirror(**ALWAYS_RECHECK)
    their_url = file_url(app, "foo", theirs.filename)
    assert app.get(their_url).body == theirs.data  # cached before the upload, even
    ours = make_wheel("foo", "1.0")

    reply = upload(app, admin, ours)

    assert "mirrored from upstream" in reply.text and "dependency-confusion" in reply.text
    assert list(files_of(app, "foo")) == [ours.filename]
    for base in ("/repo/default/", "/simple/"):
        html = page(app, "foo", headers=HTML, base=base).text
        assert ours.filename in html and theirs.filename not in html
    for url in (their_url, their_url + ".metadata"):
        assert "merge allow-list" in app.get(url, status=404).text  # why, and what to do
    asked = upstream.count("/simple/foo/")
    page(app, "foo")
    assert upstream.count("/simple/foo/") == asked  # a hosted project is not looked up
    assert_app_store_consistent(app)


def test_hosted_project_is_never_looked_up_upstream(mirror, upstream, admin):
    publish(upstream, "foo", "9.0")
    app = mirror()
    ours = make_sdist("foo", "1.0")
    reply = upload(app, admin, ours)
    assert "mirrored" not in reply.text

    assert list(files_of(app, "foo")) == [ours.filename]
    assert app.get("/pypi/foo/json").json["info"]["version"] == "1.0"
    assert upstream.count("/simple/foo/") == 0


def test_pypi_json_of_a_hosted_project_hides_upstream_files(mirror, upstream, admin):
    theirs = publish(upstream, "foo", "9.0")
    app = mirror()
    files_of(app, "foo")  # mirrored first
    ours = make_wheel("foo", "1.0")
    upload(app, admin, ours)

    data = app.get("/pypi/foo/json").json

    assert data["info"]["version"] == "1.0"
    listed = {f["filename"] for files in data["releases"].values() for f in files}
    assert theirs.filename not in listed


# --- re-checking upstream: TTL, conditional requests, what is kept ------------------------------


def test_page_within_its_ttl_is_not_rechecked(mirror, upstream):
    publish(upstream, "app-one", "1.0")
    app = mirror()  # default shop.mirror.index_ttl: 600 s
    page(app, "app-one")
    newer = publish(upstream, "app-one", "2.0")

    assert newer.filename not in files_of(app, "app-one")
    assert upstream.count("/simple/app-one/") == 1


def test_unchanged_upstream_answer_writes_nothing(mirror, upstream):
    publish(upstream, "app-one")
    app = mirror(**ALWAYS_RECHECK)
    first = page(app, "app-one").body
    db = app_db(app)
    before = db.lastTransaction()

    again = page(app, "app-one").body
    html = page(app, "app-one", headers=HTML, base="/simple/")

    assert again == first and html.status_int == 200
    assert upstream.count("/simple/app-one/") == 3  # asked each time (ttl 0)...
    assert db.lastTransaction() == before  # ...and an unchanged answer wrote nothing


def test_new_upstream_version_appears_after_the_ttl(mirror, upstream):
    old = publish(upstream, "app-one", "1.0")
    app = mirror(**ALWAYS_RECHECK)
    assert list(files_of(app, "app-one")) == [old.filename]
    db = app_db(app)
    before = db.lastTransaction()
    new = publish(upstream, "app-one", "2.0")

    assert list(files_of(app, "app-one")) == [old.filename, new.filename]
    assert app_db(app).lastTransaction() != before  # (once the writer committed)
    assert app.get(file_url(app, "app-one", new.filename)).body == new.data


def test_upstream_yank_and_requires_python_are_kept(mirror, upstream):
    good = publish(upstream, "app-one", "1.0", requires_python=">=3.8,<4")
    bad = publish(upstream, "app-one", "1.1", yanked="broken build")
    plain = publish(upstream, "app-one", "1.2", yanked=True)
    app = mirror(**ALWAYS_RECHECK)

    files = files_of(app, "app-one")
    html = html_links(page(app, "app-one", headers=HTML).text)
    meta = app.get("/pypi/app-one/json").json

    assert files[good.filename]["requires-python"] == ">=3.8,<4"
    assert files[good.filename]["yanked"] is False
    assert files[bad.filename]["yanked"] == "broken build"
    assert files[plain.filename]["yanked"] is True
    by_name = {name: next(a for a in html if f">{name}</a>" in a) for name in files}
    assert 'data-requires-python="&gt;=3.8,&lt;4"' in by_name[good.filename]
    assert "data-yanked" not in by_name[good.filename]
    assert 'data-yanked="broken build"' in by_name[bad.filename]
    assert 'data-yanked=""' in by_name[plain.filename]
    assert meta["info"]["version"] == "1.0"  # the newest release that is not yanked
    assert meta["releases"]["1.1"][0]["yanked_reason"] == "broken build"

    # A yank upstream reaches the mirror at the next re-check.
    upstream.index.file(good.filename).yanked = "security"
    assert files_of(app, "app-one")[good.filename]["yanked"] == "security"


def test_upload_time_and_size_of_upstream_files_are_kept(mirror, upstream):
    wheel = publish(upstream, "app-one", upload_time="2023-05-06T07:08:09.123456Z")
    sdist = make_sdist("app-one", "1.0")
    upstream.index.add("app-one", sdist)
    app = mirror()

    files = files_of(app, "app-one")

    assert files[wheel.filename]["upload-time"] == "2023-05-06T07:08:09.123456Z"
    assert files[wheel.filename]["size"] == len(wheel.data)
    assert files[sdist.filename]["upload-time"] == "2024-01-02T03:04:05.000000Z"
    assert files[sdist.filename]["size"] == len(sdist.data)
    assert files[sdist.filename]["core-metadata"] is False  # no metadata file for sdists
    urls = {f["filename"]: f for f in app.get("/pypi/app-one/json").json["urls"]}
    assert urls[wheel.filename]["upload_time_iso_8601"] == "2023-05-06T07:08:09.123456Z"
    assert urls[wheel.filename]["size"] == len(wheel.data)
    assert urls[wheel.filename]["packagetype"] == "bdist_wheel"
    assert urls[sdist.filename]["packagetype"] == "sdist"


@pytest.fixture
def html_only():
    """An upstream that answers HTML only (no size, no upload time), with one project."""
    index = FakeIndex(json_pages=False)
    good = make_wheel("app-one", "1.0")
    bad = make_wheel("app-one", "1.1")
    index.add("app-one", good, requires_python=">=3.8,<4")
    index.add("app-one", bad, yanked="broken")
    with TimedUpstreamServer(index) as up:
        yield up, good, bad


def test_html_only_upstream_is_mirrored(mirror, html_only):
    up, good, bad = html_only
    app = mirror(up=up)

    files = files_of(app, "app-one")
    html = page(app, "app-one", headers=HTML).text

    assert files[good.filename]["hashes"] == {"sha256": good.sha256}
    assert files[good.filename]["requires-python"] == ">=3.8,<4"
    assert files[bad.filename]["yanked"] == "broken"
    assert 'data-yanked="broken"' in html and 'data-requires-python="&gt;=3.8,&lt;4"' in html
    metadata = up.index.file(good.filename).metadata
    assert files[good.filename]["core-metadata"] == {"sha256": hashlib.sha256(metadata).hexdigest()}
    url = file_url(app, "app-one", good.filename)
    assert app.get(url).body == good.data
    assert app.get(url).body == good.data
    assert app.get(url + ".metadata").body == metadata
    assert up.count("/files/" + good.filename) == 1
    assert stored(app, good.filename).size == len(good.data)
    assert_app_store_consistent(app)


def test_pypi_json_of_a_project_from_an_html_only_upstream(mirror, html_only):
    up, good, bad = html_only
    app = mirror(up=up)

    data = app.get("/pypi/app-one/json").json

    assert data["info"]["version"] == "1.0"  # 1.1 is yanked
    urls = {f["filename"]: f for f in data["urls"]}
    assert list(urls) == [good.filename]
    assert urls[good.filename]["upload_time_iso_8601"] is None  # upstream never said: not invented
    assert urls[good.filename]["digests"]["sha256"] == good.sha256


def test_size_learned_by_caching_a_file_appears_on_the_json_page(mirror, html_only):
    up, good, bad = html_only
    app = mirror(up=up)
    url = file_url(app, "app-one", good.filename)  # the page is rendered: size unknown yet
    assert app.get(url).body == good.data
    assert stored(app, good.filename).size == len(good.data)

    assert files_of(app, "app-one")[good.filename].get("size") == len(good.data)


# --- the repository root ------------------------------------------------------------------------


def test_root_lists_hosted_and_looked_up_projects_not_upstreams_catalogue(mirror, upstream, admin):
    for name in ("app-one", "dep-two", "other-three"):
        publish(upstream, name)
    app = mirror()
    page(app, "app-one")
    upload(app, admin, make_wheel("hosted-four", "1.0"))

    listed = [p["name"] for p in app.get("/repo/default/", headers=JSON).json["projects"]]
    html = app.get("/simple/", headers=HTML).text

    assert sorted(listed) == ["app-one", "hosted-four"]
    assert 'href="app-one/"' in html and 'href="hosted-four/"' in html
    assert "dep-two" not in html and "other-three" not in html
    assert upstream.count("/simple/") == 0  # upstream's own root page is never asked for


# --- offline ------------------------------------------------------------------------------------


def _cache_one_of_two(mirror, upstream, *, render_pages: bool):
    """app-one 1.0 cached, 2.0 known but not cached, never-seen never looked up."""
    cached = publish(upstream, "app-one", "1.0")
    uncached = publish(upstream, "app-one", "2.0")
    publish(upstream, "never-seen")
    app = mirror(**ALWAYS_RECHECK)
    if render_pages:  # as pip does: the simple page first
        urls = {name: file_url(app, "app-one", name) for name in (cached.filename, uncached.filename)}
    else:  # looked up through the JSON API, so no simple page has been rendered yet
        urls = {f["filename"]: f["url"].replace("http://localhost", "")
                for files in app.get("/pypi/app-one/json").json["releases"].values() for f in files}
    assert app.get(urls[cached.filename]).body == cached.data
    return app, cached, uncached, urls


def test_offline_repository_offers_only_cached_files_and_never_asks_upstream(mirror, upstream):
    app, cached, uncached, urls = _cache_one_of_two(mirror, upstream, render_pages=False)
    set_repository(app, offline=True)
    log_before = list(upstream.log)

    assert list(files_of(app, "app-one")) == [cached.filename]
    html = page(app, "app-one", headers=HTML, base="/simple/").text
    assert cached.filename in html and uncached.filename not in html
    assert app.get(urls[cached.filename]).body == cached.data
    assert "this repository is offline" in app.get(urls[uncached.filename], status=404).text
    page(app, "never-seen", status=404)

    assert upstream.log == log_before
    assert_app_store_consistent(app)


def test_going_offline_drops_uncached_files_from_pages_rendered_before(mirror, upstream):
    app, cached, uncached, urls = _cache_one_of_two(mirror, upstream, render_pages=True)
    assert uncached.filename in files_of(app, "app-one")  # rendered (and kept) while online
    set_repository(app, offline=True)

    assert list(files_of(app, "app-one")) == [cached.filename]


def test_offline_pypi_json_lists_only_cached_files(mirror, upstream):
    app, cached, uncached, urls = _cache_one_of_two(mirror, upstream, render_pages=False)
    set_repository(app, offline=True)

    data = app.get("/pypi/app-one/json").json

    listed = {f["filename"] for files in data["releases"].values() for f in files}
    assert listed == {cached.filename}


def test_a_page_a_stored_file_changed_is_rendered_before_the_next_client_asks(mirror, upstream):
    wheel = publish(upstream, "app-one")
    upstream.index.file(wheel.filename).metadata = None  # upstream offers no .metadata for it
    app = mirror()
    assert files_of(app, "app-one")[wheel.filename]["core-metadata"] is False  # the page is kept

    app.get(file_url(app, "app-one", wheel.filename))  # stored, with the wheel's own METADATA

    def rendered_at_request_time():
        raise AssertionError("the page was not rendered ahead")

    with opened(app) as root:
        package = root.repositories["default"]["app-one"]
        kept = services_of(app.app.registry).pages.get(
            package, simple.JSON_V1, simple.page_version(package), rendered_at_request_time
        )
    metadata = stored(app, wheel.filename).metadata_sha256
    assert json.loads(kept.body)["files"][0]["core-metadata"] == {"sha256": metadata}
    assert files_of(app, "app-one")[wheel.filename]["core-metadata"] == {"sha256": metadata}
