"""Downloading files and core metadata: exact bytes, validators, caching, 404s."""
from __future__ import annotations

import pytest

from urllib.parse import urljoin, urlsplit

from tests.factories import Dist, make_sdist, make_wheel

from tests.functional.conftest import file_url, project_files, upload, uploaded

WHEEL = make_wheel("demo", "1.0")
SDIST = make_sdist("demo", "1.0")


@pytest.fixture(scope="module")
def demo(shared_app):
    uploaded(shared_app, WHEEL, SDIST)
    return shared_app


@pytest.mark.parametrize("dist", [WHEEL, SDIST], ids=["wheel", "sdist"])
def test_download_gives_exact_bytes_with_length_etag_and_immutable_caching(demo, dist):
    r = demo.get(file_url("demo", project_files(demo, "demo")[dist.filename]))
    assert r.body == dist.data
    assert r.headers["Content-Length"] == str(len(dist.data))
    assert r.headers["ETag"] == f'"{dist.sha256}"'
    cache_control = {d.strip() for d in r.headers["Cache-Control"].split(",")}
    assert "immutable" in cache_control and "max-age=31536000" in cache_control
    assert r.headers["Content-Type"] == "application/octet-stream"


@pytest.mark.parametrize("prefix", ["/simple/demo/", "/repo/default/demo/"])
def test_files_download_under_both_index_urls(demo, prefix):
    assert demo.get(f"{prefix}1/{SDIST.filename}").body == SDIST.data


def test_head_gives_the_headers_without_the_bytes(demo):
    r = demo.head(f"/simple/demo/1/{WHEEL.filename}")
    assert r.body == b""
    assert r.headers["Content-Length"] == str(len(WHEEL.data))
    assert r.headers["ETag"] == f'"{WHEEL.sha256}"'


def test_byte_ranges_are_offered_and_served(demo):
    path = f"/simple/demo/1/{WHEEL.filename}"
    size = len(WHEEL.data)
    assert demo.head(path).headers["Accept-Ranges"] == "bytes"

    tail = demo.get(path, headers={"Range": "bytes=-100"}, status=206)  # a zip's directory
    middle = demo.get(path, headers={"Range": "bytes=10-19"}, status=206)
    rest = demo.get(path, headers={"Range": f"bytes={size - 5}-"}, status=206)  # a resumed download

    assert tail.body == WHEEL.data[-100:]
    assert tail.headers["Content-Range"] == f"bytes {size - 100}-{size - 1}/{size}"
    assert tail.headers["Content-Length"] == "100"
    assert middle.body == WHEEL.data[10:20]
    assert rest.body == WHEEL.data[-5:]


def test_a_range_beyond_the_end_is_416_and_a_stale_if_range_gets_the_whole_file(demo):
    path = f"/simple/demo/1/{WHEEL.filename}"
    size = len(WHEEL.data)
    r = demo.get(path, headers={"Range": f"bytes={size + 10}-"}, status=416)
    assert r.headers["Content-Range"] == f"bytes */{size}"
    whole = demo.get(path, headers={"Range": "bytes=0-9", "If-Range": '"not-the-etag"'}, status=200)
    assert whole.body == WHEEL.data
    part = demo.get(path, headers={"Range": "bytes=0-9", "If-Range": f'"{WHEEL.sha256}"'}, status=206)
    assert part.body == WHEEL.data[:10]


def test_head_with_a_range_answers_206_without_bytes(demo):
    r = demo.head(f"/simple/demo/1/{WHEEL.filename}", headers={"Range": "bytes=0-9"}, status=206)
    assert r.body == b"" and r.headers["Content-Length"] == "10"


@pytest.mark.parametrize("path", [f"/simple/demo/1/{WHEEL.filename}",
                                  f"/simple/demo/1/{WHEEL.filename}.metadata"])
def test_if_none_match_with_the_etag_is_a_304(demo, path):
    etag = demo.get(path).headers["ETag"]
    r = demo.get(path, headers={"If-None-Match": etag}, status=304)
    assert r.body == b"" and r.headers["ETag"] == etag
    demo.get(path, headers={"If-None-Match": '"something-else"'}, status=200)


def test_metadata_file_is_cached_like_a_file(demo):
    r = demo.get(f"/simple/demo/1/{WHEEL.filename}.metadata")
    assert r.body.startswith(b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n")
    assert "immutable" in r.headers["Cache-Control"]
    assert r.headers["Content-Length"] == str(len(r.body))


@pytest.mark.parametrize("path", [
    "/simple/demo/1/demo-1.0-py2-none-any.whl",
    "/simple/demo/2/demo-2.0.tar.gz",
    "/simple/demo/1/demo-1.0.tar.gz.metadata",
    "/simple/other/1/other-1.0.tar.gz",
    f"/simple/demo/1/{SDIST.filename}/more",
])
def test_unknown_files_are_404_with_a_message(demo, path):
    r = demo.get(path, status=404)
    assert r.status.startswith("404 Not found")
    assert path in r.text


@pytest.mark.parametrize("tag", ["any#1", "any?1", "any%41"])
def test_a_stored_file_downloads_from_the_url_its_page_lists(app, tag):
    wheel = make_wheel("demo", "1.0")
    odd = Dist(f"demo-1.0-py3-none-{tag}.whl", wheel.data, "demo", "1.0")
    r = upload(app, odd)
    if r.status_int == 400:
        return  # refusing such a name at upload is as good
    assert r.status_int == 200
    url = urlsplit(urljoin("http://localhost/simple/demo/", project_files(app, "demo")[odd.filename]["url"]))
    path = url.path + (f"?{url.query}" if url.query else "")
    assert app.get(path, expect_errors=True).body == odd.data
