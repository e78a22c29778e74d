"""Several processes on one database (ZEO): what production.ini describes, for real."""
from __future__ import annotations

import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from shop.model.names import version_key
from tests.e2e.server import LocalshopServer
from tests.e2e.zeoserver import zeo_server
from tests.factories import make_wheel, upload_fields
from tests.upstream import FakeIndex, Fault, UpstreamServer

pytestmark = pytest.mark.e2e

BIN = Path(sys.executable).parent


@pytest.fixture
def zeo(tmp_path):
    """A ZEO server on loopback holding a FileStorage and its blobs; yields its address."""
    with zeo_server(tmp_path) as running:
        yield running


@pytest.fixture
def processes(tmp_path, zeo):
    """Start localshop processes sharing the ZEO database (each with its own blob cache)."""
    address, _ = zeo
    started = []

    def start(upstream: UpstreamServer, count: int = 2, **settings: str) -> list[LocalshopServer]:
        for i in range(len(started), len(started) + count):
            started.append(LocalshopServer(tmp_path / f"p{i}", settings={
                "zodbconn.uri": f"zeo://{address}?blob_dir={tmp_path / f'cache{i}'}&shared_blob_dir=false",
                "shop.upstream": upstream.url,
                "shop.secret": "one-secret-for-every-process",
                **settings,
            }).start())
        return started[-count:]

    yield start
    for server in started:
        server.stop()


def test_two_processes_downloading_one_file_store_exactly_one_copy(zeo, processes):
    _, blob_dir = zeo
    wheel = make_wheel("shared", "1.0", padding=3 * 1024 * 1024)
    index = FakeIndex()
    index.add("shared", wheel)
    with UpstreamServer(index) as upstream:
        # Slow enough that both processes are downloading at the same time.
        upstream.faults["/files/" + wheel.filename] = Fault("slow", seconds=0.05)
        servers = processes(upstream)
        for server in servers:
            assert server.project_json("shared")["files"][0]["filename"] == wheel.filename
        url = "/repo/default/shared/1.0/" + wheel.filename
        with ThreadPoolExecutor(4) as pool:
            bodies = list(pool.map(
                lambda s: requests.get(s.url + url, timeout=60).content, servers * 2
            ))
        assert all(b == wheel.data for b in bodies)
        # Per-process locking: each process fetched once, at most.
        fetched = upstream.count("/files/" + wheel.filename)
        assert fetched <= 2
        # Afterwards both serve the stored copy, and upstream is not asked again.
        for server in servers:
            assert requests.get(server.url + url, timeout=60).content == wheel.data
        assert upstream.count("/files/" + wheel.filename) == fetched
        for server in servers:
            server.stop()
    stored = [p for p in blob_dir.rglob("*.blob") if p.stat().st_size == len(wheel.data)]
    assert len(stored) == 1, stored


def test_the_command_line_works_while_the_server_runs(processes):
    with UpstreamServer(FakeIndex()) as upstream:
        [server] = processes(upstream, 1)
        result = subprocess.run(
            [str(BIN / "localshop"), "-c", str(server.ini), "user", "add", "dora", "--password-stdin"],
            input="dora-secret\n", capture_output=True, text=True, env=server.process_env(),
        )
        assert result.returncode == 0, result.stderr
        # The running server sees the new account at once.
        r = requests.get(server.url + "/repo/default/", auth=("dora", "dora-secret"), timeout=10)
        assert r.status_code == 200


def test_a_page_cached_in_one_process_changes_when_another_uploads(processes):
    with UpstreamServer(FakeIndex()) as upstream:
        writer, reader = processes(upstream)

        def upload(version):
            dist = make_wheel("across", version)
            r = requests.post(writer.url + "/repo/default/", data=upload_fields(dist),
                              files={"content": (dist.filename, dist.data)},
                              auth=("admin", writer.admin_password), timeout=30)
            assert r.status_code == 200, r.text
            return dist

        first = upload("1.0")
        assert set(reader.project_files("across")) == {first.filename}  # now cached there
        second = upload("2.0")
        assert set(reader.project_files("across")) == {first.filename, second.filename}


def dashboard_downloads(server, password: str) -> str:
    """The text alternative of the dashboard's downloads chart, as the admin reads it."""
    page = requests.get(server.url + "/", auth=("admin", password), timeout=30)
    assert page.status_code == 200, page.text
    found = re.search(r'id="chart-downloads">.*?aria-label="([^"]*)"', page.text, re.S)
    return found.group(1) if found else ""


def test_every_process_shows_the_dashboard_counts_of_all(processes):
    with UpstreamServer(FakeIndex()) as upstream:
        servers = processes(upstream, **{"shop.stats.interval": "1"})
        password = servers[0].admin_password  # the first process made the account
        dist = make_wheel("counted", "1.0")
        r = requests.post(servers[0].url + "/repo/default/", data=upload_fields(dist),
                          files={"content": (dist.filename, dist.data)},
                          auth=("admin", password), timeout=30)
        assert r.status_code == 200, r.text
        url = f"/repo/default/counted/{version_key('1.0')}/{dist.filename}"
        with ThreadPoolExecutor(4) as pool:  # three downloads from each process, at once
            bodies = list(pool.map(lambda s: requests.get(s.url + url, timeout=30).content,
                                   servers * 3))
        assert bodies == [dist.data] * 6
        # Each process writes its counts every second; a loaded machine may take longer.
        deadline = time.monotonic() + 60
        while not all(": 6 hosted" in dashboard_downloads(s, password) for s in servers):
            assert time.monotonic() < deadline, [dashboard_downloads(s, password) for s in servers]
            time.sleep(0.5)
        labels = {dashboard_downloads(s, password) for s in servers}
        assert len(labels) == 1 and ": 6 hosted, 0 mirrored;" in labels.pop()
