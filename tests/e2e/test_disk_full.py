"""A full disk under a real server: var/ (Data.fs and blobs) on a 30 MB tmpfs, filled up."""
from __future__ import annotations

import os
import time

import pytest
import requests

from tests.e2e.server import LocalshopServer
from tests.e2e.test_mirror_e2e import file_url, read_body
from tests.factories import make_wheel, upload_fields
from tests.smalldisk import fill, free_space, tmpfs
from tests.storecheck import assert_consistent, opened_storage
from tests.upstream import FakeIndex, UpstreamServer

pytestmark = pytest.mark.e2e

REASON = "Insufficient storage: the server's disk is full; nothing was stored"
MiB = 1024 * 1024


def upload(server: LocalshopServer, dist) -> requests.Response:
    return requests.post(server.url + "/repo/default/", data=upload_fields(dist),
                         files={"content": (dist.filename, dist.data)},
                         auth=("admin", server.admin_password), timeout=60)


def scratch_files(server: LocalshopServer) -> list[str]:
    return sorted(os.listdir(server.var_dir / "blobs" / "tmp"))


def wait_for_log(server: LocalshopServer, text: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while text not in server.log():
        assert time.monotonic() < deadline, f"{text!r} not in the server's log:\n{server.log()}"
        time.sleep(0.1)


def test_full_disk_refuses_uploads_507_serves_mirrored_files_unstored_and_recovers(tmp_path):
    mirrored = make_wheel("far-away", "1.0", padding=3 * MiB)
    index = FakeIndex()
    index.add("far-away", mirrored)
    hosted = make_wheel("roomy", "1.0", padding=2 * MiB)
    with tmpfs(tmp_path / "shop" / "var", "30m") as var, UpstreamServer(index) as upstream:
        server = LocalshopServer(tmp_path / "shop", settings={"shop.upstream": upstream.url})
        try:
            server.start()
            url = file_url(server, "far-away", mirrored.filename)  # the listing, stored
            filler = fill(var, leave=MiB)
            assert free_space(var) < len(hosted.data)

            refused = upload(server, hosted)
            assert (refused.status_code, refused.reason) == (507, REASON)
            assert refused.text == REASON + "\n"
            assert scratch_files(server) == [] and server.project_json("roomy") is None

            assert read_body(url) == (200, len(mirrored.data), mirrored.sha256)
            wait_for_log(server, f"the disk is full: {mirrored.filename} was not stored")
            assert scratch_files(server) == []
            assert server.request("/simple/")[0] == 200  # the server keeps serving

            filler.unlink()
            assert upload(server, hosted).status_code == 200
            assert server.project_json("roomy") is not None
            assert read_body(url) == (200, len(mirrored.data), mirrored.sha256)
            assert upstream.count(mirrored.filename) == 2  # not stored the first time
            assert read_body(url) == (200, len(mirrored.data), mirrored.sha256)
            assert upstream.count(mirrored.filename) == 2  # stored now
        finally:
            server.stop()
        with opened_storage(var) as root:
            assert_consistent(root)
