"""The mirror's one writer per process (shop/mirror/writer.py), end to end.

A first look-up is answered from upstream's answer before the writer commits it, and a file
asked for right after waits for that commit: here with real processes. The commit is held up
deterministically by holding the ZEO server's commit lock from this process (ZEO 5 takes it
at ``tpc_vote``; ``server_status()['waiting']`` says when localshop's writer queues behind
it), and the server is killed (SIGKILL) while its writer waits.
"""
from __future__ import annotations

import contextlib
import re
import hashlib
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Iterator
from urllib.parse import urljoin

import pytest
import requests
import ZEO
from ZODB.Connection import TransactionMetaData

from tests.e2e.clients import (PYTHON, installed_module, make_venv, modern_pip_install, run,
                               uv_install)
from tests.e2e.server import JSON_V1, LocalshopServer
from tests.e2e.tcpproxy import TcpRelay
from tests.e2e.zeoserver import zeo_server
from tests.factories import make_wheel
from tests.storecheck import (assert_consistent, assert_file_storage_sound, opened_storage,
                              opened_storage_object, stored_files)
from tests.upstream import FakeIndex, Fault, UpstreamServer

pytestmark = pytest.mark.e2e

PATIENCE = 60.0  # seconds a condition may take to come true on a slow, busy machine


def wait_until(condition: Callable[[], object], what: str, timeout: float = PATIENCE):
    """Poll ``condition`` until it is true; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def zeo_address(address: str) -> tuple[str, int]:
    host, port = address.rsplit(":", 1)
    return host, int(port)


class CommitLock:
    """A ZEO client of the test's own that can hold the ZEO server's commit lock."""

    def __init__(self, address: str) -> None:
        self.storage = ZEO.client(zeo_address(address), wait_timeout=PATIENCE)
        self._txn: TransactionMetaData | None = None

    def status(self) -> dict:
        return self.storage.server_status()

    def last_transaction(self) -> str:
        """The server's last committed transaction (asked synchronously, not from a cache)."""
        return self.status()["last-transaction"]

    def waiting(self) -> int:
        """How many transactions queue for the commit lock on the server."""
        return self.status()["waiting"]

    def hold(self) -> None:
        self._txn = TransactionMetaData(description="a test holding the commit lock")
        self.storage.tpc_begin(self._txn)
        self.storage.tpc_vote(self._txn)  # ZEO 5 takes the storage's lock here

    def release(self) -> None:
        txn, self._txn = self._txn, None
        if txn is not None:
            self.storage.tpc_abort(txn)

    def close(self) -> None:
        self.release()
        self.storage.close()


@contextlib.contextmanager
def commit_lock(address: str) -> Iterator[CommitLock]:
    lock = CommitLock(address)
    try:
        yield lock
    finally:
        lock.close()


@contextlib.contextmanager
def zeo_root(address: str, blob_cache: Path) -> Iterator:
    """The application root as a client of the running ZEO server sees it now, read only."""
    storage = ZEO.client(zeo_address(address), blob_dir=str(blob_cache), shared_blob_dir=False,
                         read_only=True, wait_timeout=PATIENCE)
    with opened_storage_object(storage) as root:
        yield root


def kill(server: LocalshopServer) -> None:
    """kill -9 the server, as a crash or the OOM killer would."""
    server.process.kill()
    server.process.wait(10)
    server.process = None


def zeo_shop(tmp_path: Path, name: str, address: str, upstream: UpstreamServer,
             **server_settings: str) -> LocalshopServer:
    return LocalshopServer(tmp_path / name, settings={
        "zodbconn.uri": f"zeo://{address}?blob_dir={tmp_path / (name + '-cache')}"
                        "&shared_blob_dir=false",
        "shop.upstream": upstream.url,
        "shop.secret": "one-secret-for-every-process",
    }, server_settings=server_settings)


def file_urls(server: LocalshopServer, project: str) -> dict[str, tuple[str, str]]:
    """{filename: (absolute URL, sha256)} as the project's JSON page lists them."""
    page_url = f"{server.url}/repo/default/{project}/"
    response = requests.get(page_url, headers={"Accept": JSON_V1}, timeout=PATIENCE)
    assert response.status_code == 200, (project, response.status_code, response.text[:300])
    return {f["filename"]: (urljoin(page_url, f["url"]), f["hashes"]["sha256"])
            for f in response.json()["files"]}


def download(url: str) -> tuple[int, str]:
    """GET ``url``: (status, sha256 of the body)."""
    response = requests.get(url, timeout=PATIENCE)
    return response.status_code, hashlib.sha256(response.content).hexdigest()


def assert_clean_log(server: LocalshopServer) -> None:
    log = server.log()
    assert "ConflictError" not in log and "Traceback" not in log, log[-5000:]


ACCESS = re.compile(r'\[shop\.accesslog\].* "(?P<method>[A-Z]+) (?P<path>\S+)" (?P<status>\d{3}) ')


def failed_requests(server: LocalshopServer) -> list[str]:
    """The access log's lines of requests answered with a 4xx or 5xx."""
    return [line for line in server.log().splitlines()
            if (m := ACCESS.search(line)) and int(m["status"]) >= 400]


def blob_files(blob_dir: Path, size: int) -> list[Path]:
    return [p for p in blob_dir.rglob("*.blob") if p.stat().st_size == size]


# --- 1. kill -9 between the answer and the commit --------------------------------------------


@pytest.fixture
def zeo(tmp_path):
    directory = tmp_path / "zeo"
    directory.mkdir()
    with zeo_server(directory) as (address, _blobs):
        yield address, directory


def test_the_writer_waits_for_the_commit_lock_and_commits_once_it_is_free(tmp_path, zeo):
    """The control for the kill tests: a held lock really holds the writer's commit up."""
    address, _ = zeo
    wheel = make_wheel("waiting-one", "1.0")
    with UpstreamServer(FakeIndex.of(wheel)) as upstream, commit_lock(address) as lock:
        server = zeo_shop(tmp_path, "shop", address, upstream).start()
        try:
            before = lock.last_transaction()
            lock.hold()
            # Answered from upstream's answer while nothing can be committed.
            assert server.project_files("waiting-one") == {wheel.filename: wheel.sha256}
            wait_until(lambda: lock.waiting() == 1, "the writer to queue for the commit lock")
            assert lock.last_transaction() == before
            lock.release()
            wait_until(lambda: lock.last_transaction() != before, "the writer's commit")
            with zeo_root(address, tmp_path / "test-cache") as root:
                package = root.repositories["default"].get("waiting-one")
                assert package is not None and package.listing is not None
        finally:
            server.stop()
        assert_clean_log(server)


def test_kill_9_while_a_first_listing_waits_to_be_committed_then_it_is_fetched_again(
        tmp_path, zeo):
    address, zeo_dir = zeo
    wheels = [make_wheel("held-one", "1.0"), make_wheel("held-one", "2.0")]
    listed = {w.filename: w.sha256 for w in wheels}
    with UpstreamServer(FakeIndex.of(*wheels)) as upstream, commit_lock(address) as lock:
        first = zeo_shop(tmp_path, "first", address, upstream).start()
        try:
            before = lock.last_transaction()
            lock.hold()
            assert first.project_files("held-one") == listed
            wait_until(lambda: lock.waiting() == 1, "the writer to queue for the commit lock")
            assert lock.last_transaction() == before
            assert upstream.count("/simple/held-one/") == 1
            kill(first)
        finally:
            first.stop()
        lock.release()
        # Nothing of the killed process's transaction reached the database.
        wait_until(lambda: lock.waiting() == 0, "the dead client's vote to leave the queue")
        assert lock.last_transaction() == before
        with zeo_root(address, tmp_path / "test-cache") as root:
            assert root.repositories["default"].get("held-one") is None

        second = zeo_shop(tmp_path, "second", address, upstream).start()
        try:
            urls = file_urls(second, "held-one")
            assert {name: sha for name, (_, sha) in urls.items()} == listed
            assert upstream.count("/simple/held-one/") == 2
            url, sha256 = urls[wheels[1].filename]
            assert download(url) == (200, sha256)
        finally:
            second.stop()  # waits for the writer to store what it fetched
        assert_clean_log(second)
    _assert_zeo_storage(zeo, tmp_path, {wheels[1].filename: wheels[1].sha256})


def test_kill_9_while_a_downloaded_file_waits_to_be_stored_then_it_is_fetched_again_once(
        tmp_path, zeo):
    address, zeo_dir = zeo
    wheel = make_wheel("held-file", "1.0", padding=256 * 1024)
    path = "/files/" + wheel.filename
    with UpstreamServer(FakeIndex.of(wheel)) as upstream, commit_lock(address) as lock:
        first = zeo_shop(tmp_path, "first", address, upstream).start()
        try:
            before = lock.last_transaction()
            [(url, sha256)] = file_urls(first, "held-file").values()
            # The listing is committed before the lock is taken: only the file's store waits.
            wait_until(lambda: lock.last_transaction() != before, "the listing's commit")
            listed_at = lock.last_transaction()
            lock.hold()
            assert download(url) == (200, wheel.sha256) and sha256 == wheel.sha256
            wait_until(lambda: lock.waiting() == 1, "the file's store to queue for the lock")
            assert lock.last_transaction() == listed_at
            kill(first)
        finally:
            first.stop()
        lock.release()
        wait_until(lambda: lock.waiting() == 0, "the dead client's vote to leave the queue")
        assert lock.last_transaction() == listed_at
        with zeo_root(address, tmp_path / "test-cache") as root:
            assert [f.blob_sha256 for f in stored_files(root)] == [None]  # listed, not stored
        assert upstream.count(path) == 1

        second = zeo_shop(tmp_path, "second", address, upstream).start()
        try:
            [(url, _)] = file_urls(second, "held-file").values()
            assert download(url) == (200, wheel.sha256)
            assert upstream.count(path) == 2
        finally:
            second.stop()
        assert_clean_log(second)
        # Stored now: a third process serves it without asking upstream.
        third = zeo_shop(tmp_path, "third", address, upstream).start()
        try:
            [(url, _)] = file_urls(third, "held-file").values()
            assert download(url) == (200, wheel.sha256)
            assert upstream.count(path) == 2
        finally:
            third.stop()
    _assert_zeo_storage(zeo, tmp_path, {wheel.filename: wheel.sha256})
    assert len(blob_files(zeo_dir / "blobs", len(wheel.data))) == 1


def _assert_zeo_storage(zeo, tmp_path, expected: dict[str, str]) -> None:
    """With every localshop stopped: ``stored`` files are exactly ``expected``, consistent.
    The FileStorage is checked by fstest/fsrefs later, once the ZEO server has stopped: here
    through a read-only client of the running server."""
    address, _ = zeo
    with zeo_root(address, tmp_path / "check-cache") as root:
        files = assert_consistent(root)
    assert {f.filename: f.blob_sha256 for f in files if f.blob_sha256 is not None} == expected


@pytest.fixture(autouse=True)
def _zeo_storage_sound_afterwards(request, tmp_path):
    """Tests on a ZEO server: once it has stopped, its FileStorage passes fstest and fsrefs."""
    yield
    if "zeo" in request.fixturenames and (tmp_path / "zeo" / "Data.fs").exists():
        assert_file_storage_sound(tmp_path / "zeo")
        with opened_storage(tmp_path / "zeo") as root:
            assert_consistent(root)


# --- 2. many concurrent first look-ups and first downloads -----------------------------------

PROJECTS, WHEELS_EACH, CLIENTS, PROJECTS_PER_CLIENT = 40, 3, 16, 5
# What pip and uv send for a project page.
PIP_ACCEPT = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01"


def slow_shared_files(upstream: UpstreamServer) -> None:
    """The files that two clients download at once (see ``crowd``) come slowly."""
    for name, files in upstream.index.projects.items():
        for half in range(CLIENTS // 2):
            if any(f"crowd-{(half * PROJECTS_PER_CLIENT + k) % PROJECTS}" == name
                   for k in range(PROJECTS_PER_CLIENT)):
                shared = sorted(files, key=lambda f: f.filename)[half % WHEELS_EACH]
                upstream.faults["/files/" + shared.filename] = Fault("slow", seconds=0.01)


def crowded_index() -> FakeIndex:
    """PROJECTS projects of WHEELS_EACH small wheels each, every file a different size."""
    index = FakeIndex()
    for p in range(PROJECTS):
        for w in range(WHEELS_EACH):
            index.add(f"crowd-{p}", make_wheel(f"crowd-{p}", f"1.{w}", padding=1000 * p + 100 * w))
    return index


def crowd(servers: list[LocalshopServer], index: FakeIndex) -> dict[str, str]:
    """CLIENTS threads at once, client i on ``servers[i * len(servers) // CLIENTS]``: each reads
    its projects' pages and right after each page downloads two of its files. Client i and
    client i + CLIENTS/2 share their projects (on different servers when there are two) and
    the first file of each, which upstream sends slowly (so both want it at once). Fails on any answer but a 200 with upstream's bytes; returns
    {filename: sha256} of what was downloaded."""
    start = threading.Barrier(CLIENTS)

    def client(i: int) -> list[tuple[str, int, str, str]]:
        server = servers[i * len(servers) // CLIENTS]
        seen = []
        with requests.Session() as session:
            start.wait(PATIENCE)
            for k in range(PROJECTS_PER_CLIENT):
                project = f"crowd-{(i * PROJECTS_PER_CLIENT + k) % PROJECTS}"
                page_url = f"{server.url}/repo/default/{project}/"
                page = session.get(page_url, headers={"Accept": PIP_ACCEPT}, timeout=PATIENCE)
                assert page.status_code == 200, (project, page.status_code, page.text[:500])
                assert page.headers["Content-Type"].startswith(JSON_V1)
                files = sorted(page.json()["files"], key=lambda f: f["filename"])
                assert len(files) == WHEELS_EACH, (project, files)
                half, twin = i % (CLIENTS // 2), i // (CLIENTS // 2)
                shared = files[half % WHEELS_EACH]  # its twin client's first download too
                own = files[(half + 1 + twin) % WHEELS_EACH]
                for entry in (shared, own):
                    got = session.get(urljoin(page_url, entry["url"]), timeout=PATIENCE)
                    seen.append((entry["filename"], got.status_code,
                                 hashlib.sha256(got.content).hexdigest(),
                                 entry["hashes"]["sha256"]))
        return seen

    with ThreadPoolExecutor(CLIENTS) as pool:
        seen = [s for each in pool.map(client, range(CLIENTS)) for s in each]
    upstream_sha = {f.filename: f.sha256 for files in index.projects.values() for f in files}
    wrong = [s for s in seen if s[1] != 200 or s[2] != s[3] or s[3] != upstream_sha[s[0]]]
    assert not wrong, wrong
    return {name: sha for name, _, sha, _ in seen}


def assert_stored_once(root, blob_dir: Path, downloaded: dict[str, str]) -> None:
    """Every downloaded file is stored, with its hash, and as one blob (no second copy)."""
    files = assert_consistent(root)
    stored = {f.filename: f.blob_sha256 for f in files if f.blob_sha256 is not None}
    assert stored == downloaded
    assert len({f.filename for f in files}) == PROJECTS * WHEELS_EACH  # every listing stored
    assert len(list(blob_dir.rglob("*.blob"))) == len(downloaded)


def test_concurrent_first_look_ups_and_downloads_in_one_process_never_see_a_conflict(tmp_path):
    index = crowded_index()
    with UpstreamServer(index) as upstream:
        slow_shared_files(upstream)
        server = LocalshopServer(tmp_path / "shop", settings={"shop.upstream": upstream.url},
                                 server_settings={"threads": str(CLIENTS)}).start()
        try:
            downloaded = crowd([server], index)
        finally:
            server.stop()
    assert_clean_log(server)
    assert failed_requests(server) == []
    assert_file_storage_sound(server.var_dir)
    with opened_storage(server.var_dir) as root:
        assert_stored_once(root, server.var_dir / "blobs", downloaded)


def test_concurrent_first_look_ups_and_downloads_in_two_processes_on_zeo(tmp_path, zeo):
    address, zeo_dir = zeo
    index = crowded_index()
    with UpstreamServer(index) as upstream:
        slow_shared_files(upstream)
        servers = [zeo_shop(tmp_path, f"shop{i}", address, upstream, threads=str(CLIENTS // 2))
                   for i in range(2)]
        try:
            for server in servers:
                server.start()
            downloaded = crowd(servers, index)
        finally:
            for server in servers:
                server.stop()
    for server in servers:
        assert_clean_log(server)
        assert failed_requests(server) == []
    with zeo_root(address, tmp_path / "check-cache") as root:
        assert_stored_once(root, zeo_dir / "blobs", downloaded)


# --- 3. pip and uv through a cold mirror -----------------------------------------------------


@pytest.mark.parametrize("installer", ["pip", "uv"])
def test_pip_and_uv_install_through_a_cold_mirror(tmp_path, env, uv_cache, installer):
    """A real client asks for a file (core metadata, then the wheel) right after the first
    page of its project: answered before the writer has committed that project's listing."""
    apps = [make_wheel("cold-app", v, requires_dist=(requires,)) for v, requires in
            (("1.0", "cold-dep"), ("1.5", "cold-dep>=1.1"), ("2.0", "cold-dep>=1.1,<1.3"))]
    deps = [make_wheel("cold-dep", v) for v in ("1.0", "1.1", "1.2", "1.3")]
    with UpstreamServer(FakeIndex.of(*apps, *deps)) as upstream:
        server = LocalshopServer(tmp_path / "shop", settings={"shop.upstream": upstream.url})
        try:
            server.start()
            python = make_venv(tmp_path / "venv")
            index_url = server.url + "/repo/default/"
            if installer == "pip":
                modern_pip_install(python, index_url, "cold-app", env=env)
            else:
                uv_install(python, index_url, "cold-app", env=env, cache_dir=uv_cache,
                           options=("--no-cache",))
            assert installed_module(python, "cold_app", env) == "2.0 wheel"
            assert installed_module(python, "cold_dep", env) == "1.2 wheel"
            counts = upstream.counts()
            for wheel in (apps[2], deps[2]):
                assert counts["/files/" + wheel.filename] == 1, counts
        finally:
            server.stop()
    assert_clean_log(server)
    assert failed_requests(server) == []
    assert_file_storage_sound(server.var_dir)
    with opened_storage(server.var_dir) as root:
        files = assert_consistent(root)
    stored = {f.filename: f.blob_sha256 for f in files if f.blob_sha256 is not None}
    assert stored == {apps[2].filename: apps[2].sha256, deps[2].filename: deps[2].sha256}
    assert {f.filename for f in files} == {w.filename for w in apps + deps}


# The grace the server is given to take up a request the relay has passed on, before the lock
# is released: the request is then (all but surely) waiting for its project's listing. Not
# asserted on: if it were not, the request would merely come after the commit.
TAKE_UP = 2.0


@pytest.mark.parametrize("installer", ["pip", "uv"])
def test_pip_and_uv_fetch_files_of_a_listing_the_writer_has_not_committed_yet(
        tmp_path, zeo, env, uv_cache, installer):
    """The commit lock is held from the first page on: the client's request for the file's
    core metadata reaches the server while the project's listing is still uncommitted, waits
    for the writer, and is answered once the lock is released; the install succeeds."""
    address, zeo_dir = zeo
    apps = [make_wheel("held-app", v, requires_dist=("held-dep>=1.1",)) for v in ("1.0", "2.0")]
    deps = [make_wheel("held-dep", v) for v in ("1.0", "1.1")]
    with (UpstreamServer(FakeIndex.of(*apps, *deps)) as upstream,
          commit_lock(address) as lock):
        server = zeo_shop(tmp_path, "shop", address, upstream).start()
        try:
            with TcpRelay(server.port) as relay:
                python = make_venv(tmp_path / "venv")
                index_url = relay.url + "/repo/default/"
                before = lock.last_transaction()
                lock.hold()
                outcome: list = []
                installing = threading.Thread(target=lambda: outcome.append(
                    install(installer, python, index_url, "held-app", env, uv_cache)))
                installing.start()
                try:
                    assert relay.wait_for_request("/repo/default/held-app/2", PATIENCE), (
                        relay.requests())
                    time.sleep(TAKE_UP)
                    # Still nothing committed: the file was asked for before its listing.
                    assert lock.waiting() == 1 and lock.last_transaction() == before
                    assert installing.is_alive()  # its answer waits
                finally:
                    lock.release()
                    installing.join(180)
                assert outcome and outcome[0].returncode == 0, outcome and str(outcome[0])
            assert installed_module(python, "held_app", env) == "2.0 wheel"
            assert installed_module(python, "held_dep", env) == "1.1 wheel"
        finally:
            server.stop()
    assert_clean_log(server)
    assert failed_requests(server) == []
    with zeo_root(address, tmp_path / "check-cache") as root:
        files = assert_consistent(root)
    stored = {f.filename: f.blob_sha256 for f in files if f.blob_sha256 is not None}
    assert stored == {apps[1].filename: apps[1].sha256, deps[1].filename: deps[1].sha256}


def install(installer: str, python: Path, index_url: str, requirement: str, env, uv_cache):
    """pip (isolated, no cache) or uv (no configuration, no cache) installing from index_url
    only, with a generous network time-out (a request may wait for the writer)."""
    if installer == "pip":
        return run([PYTHON, "-m", "pip", "--isolated", "--disable-pip-version-check",
                    "--python", python, "install", "--no-cache-dir", "--timeout", "120",
                    "--index-url", index_url, requirement], env=env, expect=None)
    return uv_install(python, index_url, requirement, env={**env, "UV_HTTP_TIMEOUT": "120"},
                      cache_dir=uv_cache, options=("--no-cache",), expect=None)


def test_a_listed_file_is_never_a_404_while_its_listing_waits_for_a_stuck_commit(tmp_path, zeo):
    address, _ = zeo
    wheel = make_wheel("stuck-one", "1.0")
    with UpstreamServer(FakeIndex.of(wheel)) as upstream, commit_lock(address) as lock:
        # Two attempts (not five): the request gives up after 2 x PENDING_PATIENCE (20 s).
        server = zeo_shop(tmp_path, "shop", address, upstream)
        server.settings["retry.attempts"] = "2"
        server.write_ini()
        server.start()
        try:
            lock.hold()
            [(url, sha256)] = file_urls(server, "stuck-one").values()
            wait_until(lambda: lock.waiting() == 1, "the writer to queue for the commit lock")
            status, _ = download(url)
            # Not a 404 for a file listed a moment ago: "try again", once the waits ran out.
            assert status == 503, status
        finally:
            lock.release()
            server.stop()
