"""kill -9 of a real server mid-write, then a restart on the same ``var/``: the storage is sound,
every listed file downloads with its hash, and nothing partial is left on disk."""
from __future__ import annotations

import base64
import hashlib
import http.client
import json
import threading
import time
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests

from tests.e2e.server import JSON_V1, LocalshopServer
from tests.factories import Dist, make_wheel, multipart_around
from tests.storecheck import assert_consistent, assert_file_storage_sound, opened_storage
from tests.upstream import FakeIndex, Fault, TimedUpstreamServer

pytestmark = [pytest.mark.e2e, pytest.mark.fault]

PARTIAL = ("upload-*", "mirror-*", "metadata-*", "BUC*")


def blob_tmp(server: LocalshopServer) -> Path:
    return server.var_dir / "blobs" / "tmp"


def partial_files(server: LocalshopServer) -> list[str]:
    """localshop's temporary files in the blob storage's temporary directory."""
    return sorted(p.name for pattern in PARTIAL for p in blob_tmp(server).glob(pattern))


def kill(server: LocalshopServer) -> None:
    """kill -9 the server, as a crash or the OOM killer would."""
    server.process.kill()
    server.process.wait(10)
    server.process = None


def kill_when(server: LocalshopServer, pattern: str, timeout: float = 20) -> str:
    """kill -9 the server once a non-empty file matching ``pattern`` is being written; its name."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in blob_tmp(server).glob(pattern):
            try:
                if path.stat().st_size > 0:
                    kill(server)
                    return path.name
            except FileNotFoundError:  # finished meanwhile; wait for the next one
                pass
        time.sleep(0.002)
    raise AssertionError(f"no {pattern} appeared within {timeout} s\n{server.log()[-3000:]}")


def assert_every_listed_file_downloads(server: LocalshopServer) -> dict[str, str]:
    """Fetch every file the default repository lists; each must match its listed sha256."""
    index = server.url + "/repo/default/"
    root = json.loads(server.request(index, headers={"Accept": JSON_V1})[2])
    fetched = {}
    for project in root["projects"]:
        page_url = urljoin(index, project["name"] + "/")
        for entry in server.project_json(project["name"])["files"]:
            with requests.get(urljoin(page_url, entry["url"]), timeout=60) as response:
                assert response.status_code == 200, (entry["filename"], response.reason)
                fetched[entry["filename"]] = hashlib.sha256(response.content).hexdigest()
            assert fetched[entry["filename"]] == entry["hashes"]["sha256"], entry["filename"]
    return fetched


def assert_storage_sound(server: LocalshopServer) -> None:
    """On the stopped server: fstest, fsrefs, every blob's hash, and no partial file."""
    assert not server.running
    assert_file_storage_sound(server.var_dir)
    with opened_storage(server.var_dir) as root:
        files = assert_consistent(root)
    assert partial_files(server) == []
    # Every blob file on disk is one the tree holds: none of a commit the kill cut short.
    held = sum((f.blob_sha256 is not None) + (f.metadata_blob_sha256 is not None) for f in files)
    assert len(list((server.var_dir / "blobs").rglob("*.blob"))) == held


def multipart(dist: Dist, boundary: str) -> tuple[bytes, bytes]:
    """The upload form around ``dist``'s bytes: what comes before them and after."""
    return multipart_around(dist, boundary)


def post_upload(server: LocalshopServer, dist: Dist, halfway: threading.Event | None = None) -> None:
    """Upload ``dist`` as twine does, streaming its bytes; returns when the server answers or dies.

    With ``halfway``, it sets the event once half the file is sent and waits for it to clear.
    """
    boundary = "crash-test-boundary"
    head, tail = multipart(dist, boundary)
    token = base64.b64encode(f"admin:{server.admin_password}".encode()).decode()
    body = memoryview(dist.data)
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        connection.putrequest("POST", "/repo/default/")
        connection.putheader("Authorization", f"Basic {token}")
        connection.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
        connection.putheader("Content-Length", str(len(head) + len(body) + len(tail)))
        connection.endheaders(head)
        step = 1024 * 1024
        for start in range(0, len(body), step):
            connection.send(body[start:start + step])
            if halfway is not None and start <= len(body) // 2 < start + step:
                halfway.set()
                while halfway.is_set():
                    time.sleep(0.01)
        connection.send(tail)
        connection.getresponse().read()
    except OSError:  # the server was killed
        pass
    finally:
        connection.close()


def test_kill_9_during_an_upload_leaves_a_sound_store_and_no_partial_file(tmp_path):
    server = LocalshopServer(tmp_path / "localshop").start()
    try:
        small = make_wheel("survivor", "1.0")
        post_upload(server, small)
        assert server.project_files("survivor") == {small.filename: small.sha256}
        big = make_wheel("crasher", "1.0", padding=96 * 1024 * 1024)
        # Killed while the body streams in (waitress holds it, in a file it has unlinked).
        halfway = threading.Event()
        sending = threading.Thread(target=post_upload, args=(server, big, halfway))
        sending.start()
        assert halfway.wait(20)
        kill(server)
        halfway.clear()
        sending.join(30)
        server.start()
        assert partial_files(server) == [] and server.project_files("crasher") == {}

        # Killed while localshop writes the file beside the blobs, hashing it.
        sending = threading.Thread(target=post_upload, args=(server, big))
        sending.start()
        killed_at = kill_when(server, "upload-*.part")
        sending.join(30)
        assert killed_at in partial_files(server)  # what the crash left behind

        server.start()
        assert partial_files(server) == []
        assert "Removed 1 temporary files" in server.log()
        assert assert_every_listed_file_downloads(server) == {small.filename: small.sha256}
        server.stop()
        assert_storage_sound(server)
    finally:
        server.stop()


def test_kill_9_during_a_mirror_download_then_the_file_is_fetched_again_verified(tmp_path):
    wheel = make_wheel("slow-big", "1.0", padding=8 * 1024 * 1024)
    path = "/files/" + wheel.filename
    with TimedUpstreamServer(FakeIndex.of(wheel)) as upstream:
        server = LocalshopServer(tmp_path / "localshop",
                                 settings={"shop.upstream": upstream.url}).start()
        try:
            page_url = server.url + "/repo/default/slow-big/"
            entry = server.project_json("slow-big")["files"][0]
            upstream.faults[path] = Fault("slow", seconds=0.25, times=1)  # about 5 s to send
            reading = threading.Thread(target=_read_quietly, args=(urljoin(page_url, entry["url"]),))
            reading.start()
            killed_at = kill_when(server, "mirror-*.part")
            reading.join(30)
            assert killed_at in partial_files(server)

            server.start()
            assert partial_files(server) == []
            assert assert_every_listed_file_downloads(server) == {wheel.filename: wheel.sha256}
            assert upstream.count(path) == 2  # the killed download, and the one after restart
            server.stop()  # waits for the verified file to be stored
            assert_storage_sound(server)
            with opened_storage(server.var_dir) as root:
                stored = {f.filename: f.blob_sha256 for f in assert_consistent(root)}
            assert stored == {wheel.filename: wheel.sha256}
            server.start()  # and now it is served from the blob
            assert assert_every_listed_file_downloads(server) == {wheel.filename: wheel.sha256}
            assert upstream.count(path) == 2
        finally:
            server.stop()


def _read_quietly(url: str) -> None:
    """Read a response until the server dies under it."""
    try:
        with requests.get(url, stream=True, timeout=30) as response:
            for _ in response.iter_content(64 * 1024):
                pass
    except requests.RequestException:
        pass
