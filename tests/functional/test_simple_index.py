"""The simple index over HTTP: negotiation, canonical URLs, caching, and what a file link says."""
from __future__ import annotations

import re

import pytest

from tests.factories import make_sdist, make_wheel, metadata_text

from tests.functional.conftest import (
    HTML,
    JSON,
    PIP_ACCEPT,
    file_url,
    json_page,
    links,
    module_app,
    project_files,
    sha256,
    uploaded,
    vary,
    yank,
)

PAGES = ["/simple/", "/repo/default/", "/simple/demo/", "/repo/default/demo/"]
UPLOAD_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


@pytest.fixture(scope="module")
def demo(shared_app):
    """An app with project ``demo``: a wheel and an sdist of 1.0; tests using it only read."""
    uploaded(shared_app, make_wheel("demo", "1.0"), make_sdist("demo", "1.0"))
    return shared_app


# --- negotiation ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize(("accept", "content_type"), [
    (None, "text/html; charset=utf-8"),
    ("*/*", "text/html; charset=utf-8"),
    ("text/html", "text/html; charset=utf-8"),
    (PIP_ACCEPT, JSON),
    ("application/vnd.pypi.simple.latest+json", JSON),
    (HTML, HTML),
    ("application/vnd.pypi.simple.latest+html", HTML),
])
def test_pages_negotiate_the_content_type_and_vary_on_accept(demo, path, accept, content_type):
    r = demo.get(path, headers={"Accept": accept} if accept else {})
    assert r.headers["Content-Type"] == content_type
    assert "Accept" in vary(r)


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize(("wanted", "content_type"), [
    ("application%2Fvnd.pypi.simple.v1%2Bjson", JSON),
    ("application%2Fvnd.pypi.simple.latest%2Bjson", JSON),
    ("application%2Fvnd.pypi.simple.v1%2Bhtml", HTML),
    ("text%2Fhtml", "text/html; charset=utf-8"),
])
def test_format_parameter_overrides_the_accept_header(demo, path, wanted, content_type):
    r = demo.get(f"{path}?format={wanted}", headers={"Accept": "image/png"})
    assert r.headers["Content-Type"] == content_type
    assert "Accept" in vary(r)


@pytest.mark.parametrize("path", PAGES)
def test_nothing_acceptable_is_a_406_that_says_what_is_offered(demo, path):
    r = demo.get(path, headers={"Accept": "application/json"}, status=406)
    assert r.status.startswith("406 Not acceptable")
    assert JSON in r.status and "text/html" in r.status
    assert "Accept" in vary(r)
    r = demo.get(path + "?format=application%2Fxml", status=406)
    assert "Accept" in vary(r)


@pytest.mark.parametrize("path", ["/simple/", "/simple/demo/"])
def test_head_answers_like_get_without_a_body(demo, path):
    get = demo.get(path, headers={"Accept": JSON})
    head = demo.head(path, headers={"Accept": JSON})
    assert head.body == b""
    assert head.headers["Content-Type"] == JSON and head.headers["ETag"] == get.headers["ETag"]


# --- the pages ------------------------------------------------------------------------------


def test_root_page_lists_projects_by_normalized_name_in_both_formats(app):
    uploaded(app, make_sdist("Foo_Bar", "1.0"), make_sdist("demo", "1.0"))
    assert json_page(app, "/simple/").json == {
        "meta": {"api-version": "1.3"},
        "projects": [{"name": "demo"}, {"name": "foo-bar"}],
    }
    html = app.get("/repo/default/").text
    assert '<meta name="pypi:repository-version" content="1.3">' in html
    assert re.findall(r'<a href="([^"]+)">([^<]+)</a>', html) == [("demo/", "demo"), ("foo-bar/", "foo-bar")]


def test_an_empty_index_has_an_empty_root_page(app):
    assert json_page(app, "/simple/").json["projects"] == []


def test_project_json_has_meta_name_versions_and_files(app):
    uploaded(app, make_sdist("Foo_Bar", "1.0"), make_wheel("Foo_Bar", "1.0.0"), make_sdist("Foo_Bar", "2.0"))
    page = json_page(app, "/simple/foo-bar/").json
    assert page["meta"] == {"api-version": "1.3"}
    assert page["name"] == "foo-bar"
    assert page["versions"] == ["1.0", "2.0"]  # 1.0 and 1.0.0 are one release, listed once
    assert len(page["files"]) == 3


def test_project_html_has_the_version_meta_and_one_link_per_file(demo):
    html = demo.get("/simple/demo/").text
    assert '<meta name="pypi:repository-version" content="1.3">' in html
    anchors = re.findall(r'<a href="([^"#]+)#sha256=([0-9a-f]{64})"[^>]*>([^<]+)</a>', html)
    assert sorted(text for _, _, text in anchors) == ["demo-1.0-py3-none-any.whl", "demo-1.0.tar.gz"]
    for href, _, text in anchors:
        assert href.endswith("/" + text)
    assert set(links(html)) == {text for _, _, text in anchors}


def test_file_hashes_are_the_sha256_of_the_downloaded_bytes(app):
    wheel, sdist = make_wheel("demo", "1.0"), make_sdist("demo", "1.0")
    uploaded(app, wheel, sdist)
    files = project_files(app, "demo")
    html = app.get("/simple/demo/").text
    for dist in (wheel, sdist):
        entry = files[dist.filename]
        assert entry["hashes"] == {"sha256": dist.sha256}
        assert entry["size"] == len(dist.data)
        assert app.get(file_url("demo", entry)).body == dist.data
        assert links(html)[dist.filename]["href"] == f'{entry["url"]}#sha256={dist.sha256}'


def test_upload_time_is_utc_with_microseconds(demo):
    for entry in project_files(demo, "demo").values():
        assert UPLOAD_TIME.match(entry["upload-time"]), entry["upload-time"]


def test_requires_python_is_escaped_in_html_and_plain_in_json(app):
    uploaded(app, make_sdist("demo", "1.0"), requires_python=">=3.8,<4")
    assert project_files(app, "demo")["demo-1.0.tar.gz"]["requires-python"] == ">=3.8,<4"
    assert 'data-requires-python="&gt;=3.8,&lt;4"' in app.get("/simple/demo/").text


def test_files_without_requires_python_have_no_attribute(demo):
    assert "data-requires-python" not in demo.get("/simple/demo/").text
    assert {f["requires-python"] for f in project_files(demo, "demo").values()} == {None}


def test_wheels_advertise_the_sha256_of_their_metadata(app):
    wheel = make_wheel("demo", "1.0", requires_dist=("requests>=2",))
    uploaded(app, wheel)
    expected = sha256(metadata_text("demo", "1.0", requires_dist=("requests>=2",)).encode())
    entry = project_files(app, "demo")[wheel.filename]
    assert entry["core-metadata"] == {"sha256": expected}
    html = app.get("/simple/demo/").text
    assert f'data-core-metadata="sha256={expected}"' in html
    assert f'data-dist-info-metadata="sha256={expected}"' in html


def test_metadata_file_serves_exactly_the_wheels_metadata(app):
    wheel = make_wheel("demo", "1.0", requires_dist=("requests>=2",), description="# Hi")
    uploaded(app, wheel)
    entry = project_files(app, "demo")[wheel.filename]
    r = app.get(file_url("demo", entry) + ".metadata")
    metadata = metadata_text("demo", "1.0", requires_dist=("requests>=2",), description="# Hi").encode()
    assert r.body == metadata
    assert sha256(r.body) == entry["core-metadata"]["sha256"]
    assert r.headers["ETag"] == f'"{sha256(metadata)}"'
    assert int(r.headers["Content-Length"]) == len(metadata)


def test_sdists_have_no_core_metadata(demo):
    entry = project_files(demo, "demo")["demo-1.0.tar.gz"]
    assert entry["core-metadata"] is False
    r = demo.get(file_url("demo", entry) + ".metadata", status=404)
    assert r.status.startswith("404 Not found")
    attrs = links(demo.get("/simple/demo/").text)["demo-1.0.tar.gz"]
    assert "data-core-metadata" not in attrs and "data-dist-info-metadata" not in attrs


# --- canonical URLs -----------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "location"), [
    ("/simple", "/simple/"),
    ("/repo/default", "/repo/default/"),
    ("/simple/demo", "/simple/demo/"),
    ("/repo/default/demo", "/repo/default/demo/"),
    ("/simple/Demo/", "/simple/demo/"),
    ("/simple/Demo", "/simple/demo/"),
    ("/repo/default/DEMO/", "/repo/default/demo/"),
])
def test_unslashed_and_unnormalized_urls_redirect_permanently(demo, path, location):
    r = demo.get(path, status=301)
    assert r.location == "http://localhost" + location


def test_redirects_keep_the_query_string(demo):
    assert demo.get("/simple/Demo/?format=text%2Fhtml", status=301).location == (
        "http://localhost/simple/demo/?format=text%2Fhtml")
    assert demo.get("/simple?format=text%2Fhtml", status=301).location == (
        "http://localhost/simple/?format=text%2Fhtml")


def test_non_normalized_names_redirect_to_the_normalized_project(app):
    uploaded(app, make_sdist("Foo_Bar", "1.0"))
    for path in ("/simple/Foo_Bar/", "/simple/foo.bar/", "/simple/FOO--BAR/", "/simple/foo_bar"):
        assert app.get(path, status=301).location == "http://localhost/simple/foo-bar/"
    assert app.get("/simple/foo-bar/").status_int == 200


@pytest.mark.parametrize("path", ["/simple/nothing/", "/simple/Nothing/", "/repo/default/nothing/",
                                  "/repo/nothing/", "/simple/demo/9/"])
def test_unknown_projects_are_404(demo, path):
    r = demo.get(path, status=404)
    assert r.status.startswith("404 Not found")


# --- caching --------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("accept", [JSON, "text/html"])
def test_if_none_match_with_the_current_etag_is_a_304(demo, path, accept):
    r = demo.get(path, headers={"Accept": accept})
    etag = r.headers["ETag"]
    r = demo.get(path, headers={"Accept": accept, "If-None-Match": etag}, status=304)
    assert r.body == b"" and r.headers["ETag"] == etag
    assert "Accept" in vary(r)


@pytest.fixture(scope="module")
def big_pages(tmp_path_factory):
    """Pages large enough to be compressed (above 1 kB): 60 projects, one with 10 releases."""
    with module_app(tmp_path_factory) as app:
        uploaded(app, *(make_sdist(f"project-{i}", f"1.{v}")
                        for i in range(60) for v in range(10 if i == 0 else 1)))
        yield app


@pytest.mark.parametrize("path", ["/simple/project-0/", "/repo/default/"])
@pytest.mark.parametrize("accept", [JSON, "text/html"])
def test_clients_that_take_gzip_get_the_page_compressed_with_its_own_etag(big_pages, path, accept):
    # WebTest decodes the body and drops Content-Encoding; the bytes on the wire are checked
    # end to end (tests/e2e/test_hosted_clients.py).
    plain = big_pages.get(path, headers={"Accept": accept})
    packed = big_pages.get(path, headers={"Accept": accept, "Accept-Encoding": "gzip, deflate"})

    assert packed.body == plain.body
    assert packed.headers["Content-Type"] == plain.headers["Content-Type"]
    assert packed.headers["ETag"] == plain.headers["ETag"][:-1] + '-gzip"'  # another representation
    assert {"Accept", "Accept-Encoding"} <= vary(plain) and {"Accept", "Accept-Encoding"} <= vary(packed)
    again = big_pages.get(path, headers={"Accept": accept, "Accept-Encoding": "gzip",
                                         "If-None-Match": packed.headers["ETag"]}, status=304)
    assert again.headers["ETag"] == packed.headers["ETag"]


def test_gzip_refused_with_q_zero_gets_the_plain_page(big_pages):
    r = big_pages.get("/simple/", headers={"Accept": JSON, "Accept-Encoding": "gzip;q=0, identity"})
    assert not r.headers["ETag"].endswith('-gzip"')
    assert {"name": "project-59"} in r.json["projects"]


def test_small_pages_are_sent_as_they_are(demo):
    r = demo.get("/simple/demo/", headers={"Accept": "text/html", "Accept-Encoding": "gzip"})
    assert len(r.body) < 1024 and not r.headers["ETag"].endswith('-gzip"')


def test_pages_must_be_revalidated(demo):
    assert demo.get("/simple/demo/").headers["Cache-Control"] == "max-age=0, must-revalidate"


@pytest.mark.parametrize("path", ["/simple/demo/", "/simple/"])
def test_an_old_etag_gets_the_new_page_after_another_upload(app, path):
    uploaded(app, make_sdist("demo", "1.0"))
    old = json_page(app, path).headers["ETag"]
    uploaded(app, make_sdist("demo" if path != "/simple/" else "other", "2.0"))
    r = app.get(path, headers={"Accept": JSON, "If-None-Match": old}, status=200)
    assert r.headers["ETag"] != old


def test_a_second_file_of_a_release_changes_the_project_page(app):
    uploaded(app, make_sdist("demo", "1.0"))
    old = json_page(app, "/simple/demo/").headers["ETag"]
    uploaded(app, make_wheel("demo", "1.0"))
    r = app.get("/simple/demo/", headers={"Accept": JSON, "If-None-Match": old}, status=200)
    assert len(r.json["files"]) == 2


def test_yanking_changes_the_page_and_marks_the_file(app):
    demo = app
    uploaded(demo, make_wheel("demo", "1.0"), make_sdist("demo", "1.0"))
    old_json = json_page(demo, "/simple/demo/").headers["ETag"]
    old_html = demo.get("/simple/demo/").headers["ETag"]
    yank(demo, "demo", "1", "demo-1.0.tar.gz", "broken <build>")
    r = demo.get("/simple/demo/", headers={"Accept": JSON, "If-None-Match": old_json}, status=200)
    files = {f["filename"]: f for f in r.json["files"]}
    assert files["demo-1.0.tar.gz"]["yanked"] == "broken <build>"
    assert files["demo-1.0-py3-none-any.whl"]["yanked"] is False
    r = demo.get("/simple/demo/", headers={"If-None-Match": old_html}, status=200)
    assert 'data-yanked="broken &lt;build&gt;">demo-1.0.tar.gz</a>' in r.text
    assert "data-yanked" not in links(r.text)["demo-1.0-py3-none-any.whl"]


def test_a_file_yanked_without_reason_is_marked_true(app):
    uploaded(app, make_sdist("demo", "1.0"))
    yank(app, "demo", "1", "demo-1.0.tar.gz")
    assert project_files(app, "demo")["demo-1.0.tar.gz"]["yanked"] is True
    assert links(app.get("/simple/demo/").text)["demo-1.0.tar.gz"]["data-yanked"] == ""
