"""Concurrent writers against one real server: nothing lost, no 500s."""
from __future__ import annotations

import gzip
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.factories import make_wheel, upload_fields
from tests.storecheck import assert_consistent, opened_storage

pytestmark = pytest.mark.e2e


def _upload(server, dist) -> requests.Response:
    return requests.post(
        server.url + "/repo/default/", data=upload_fields(dist),
        files={"content": (dist.filename, dist.data)},
        auth=("admin", server.admin_password), timeout=60,
    )


def test_concurrent_uploads_to_one_project_all_land(server):
    dists = [make_wheel("busy-project", f"1.{i}") for i in range(24)]
    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(lambda d: _upload(server, d), dists))
    statuses = [r.status_code for r in responses]
    assert 500 not in statuses, [r.text for r in responses if r.status_code == 500][:1]
    # A request that lost every retry says so (503) and stores nothing; the rest stored.
    stored = {d.filename for d, r in zip(dists, responses) if r.status_code == 200}
    assert len(stored) >= len(dists) - 2, statuses
    assert set(server.project_files("busy-project")) == stored


def test_concurrent_uploads_of_new_projects_all_land(server):
    dists = [make_wheel(f"fresh-{i}", "1.0") for i in range(24)]
    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(lambda d: _upload(server, d), dists))
    assert [r.status_code for r in responses if r.status_code != 200] in ([], [503], [503, 503])
    for dist, response in zip(dists, responses):
        if response.status_code == 200:
            assert server.project_files(dist.name) == {dist.filename: dist.sha256}


def test_a_large_page_arrives_whole_and_answers_if_none_match(server):
    # 160 files make a JSON page of more than 64 KiB: waitress sends it as a file.
    dists = [make_wheel("large-page", f"2.{i}") for i in range(160)]
    with ThreadPoolExecutor(8) as pool:
        assert {r.status_code for r in pool.map(lambda d: _upload(server, d), dists)} == {200}
    url = server.url + "/repo/default/large-page/"
    headers = {"Accept": "application/vnd.pypi.simple.v1+json", "Accept-Encoding": "identity"}
    r = requests.get(url, headers=headers, timeout=30)
    assert len(r.content) > 64 * 1024 and int(r.headers["Content-Length"]) == len(r.content)
    assert {f["filename"] for f in r.json()["files"]} == {d.filename for d in dists}
    again = requests.get(url, headers={**headers, "If-None-Match": r.headers["ETag"]}, timeout=30)
    assert again.status_code == 304 and again.content == b""
    # Clients that take gzip (pip, uv) get the page compressed: the bytes on the wire.
    status, wire_headers, wire = server.request(url, headers={**headers, "Accept-Encoding": "gzip"})
    assert status == 200 and wire_headers["Content-Encoding"] == "gzip"
    assert int(wire_headers["Content-Length"]) == len(wire) < len(r.content) // 3
    assert gzip.decompress(wire) == r.content


def test_after_concurrent_writers_every_file_is_whole_and_counted_once(server):
    """Last in this module: it stops the server to read its database."""
    server.stop()
    with opened_storage(server.var_dir) as root:
        files = assert_consistent(root)  # hashes, and the dashboard's counts of stored files
    assert len([f for f in files if f.blob_sha256]) >= 2 * 24 - 4
