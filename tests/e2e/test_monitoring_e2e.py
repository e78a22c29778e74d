"""``/+health`` and ``/+metrics`` of real servers (pserve + waitress) on a real ZEO server:
503 while the database server is stopped, 200 once it is back; one series per process."""
from __future__ import annotations

import json
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.server import LocalshopServer
from tests.e2e.zeoserver import zeo_server

pytestmark = pytest.mark.e2e


def zeo_process(base, address: str, i: int) -> LocalshopServer:
    """A localshop process on the ZEO server at ``address``, with a blob cache of its own."""
    return LocalshopServer(base / f"p{i}", settings={
        "zodbconn.uri": f"zeo://{address}?blob_dir={base / f'cache{i}'}&shared_blob_dir=false",
        "shop.secret": "one-secret-for-every-process",
    })


def health(server: LocalshopServer) -> tuple[int, dict]:
    """The status and the JSON of /+health; a check that waited for ZEO's own 30 s (no bound
    of ours) would end in the client's time-out instead."""
    status, _, body = server.request("/+health", timeout=20)
    return status, json.loads(body)


def scrape(server: LocalshopServer) -> dict:
    """The metric families of /+metrics (from loopback: allowed), by name."""
    status, _, body = server.request("/+metrics", timeout=20)
    assert status == 200, body[:300]
    return {f.name: f for f in text_string_to_metric_families(body.decode())}


def until_healthy(server: LocalshopServer, within: float = 60) -> dict:
    deadline = time.monotonic() + within
    while True:
        status, report = health(server)
        if status == 200 or time.monotonic() > deadline:
            assert status == 200, report
            return report
        time.sleep(0.5)


def test_health_is_503_while_the_zeo_server_is_stopped_and_200_once_it_is_back(tmp_path):
    with zeo_server(tmp_path) as (address, _):
        server = zeo_process(tmp_path, address, 0).start()
        try:
            status, report = health(server)
            assert status == 200 and report["storage"]["ok"] is True
        except BaseException:
            server.stop()
            raise
    try:
        status, report = health(server)  # the ZEO server is gone
        assert status == 503 and report["ok"] is False, report
        error = report["storage"]["error"]  # said at once, or (not noticed yet) within 2 s
        assert "not connected" in error or "did not answer" in error or "Disconnected" in error
        assert report["repositories"] is None and report["version"]
        assert scrape(server)["localshop_storage_answers"].samples[0].value == 0
        with zeo_server(tmp_path, port=int(address.rsplit(":", 1)[1])):
            assert until_healthy(server)["storage"] == {"ok": True, "error": None}
    finally:
        server.stop()


def test_two_processes_on_one_database_scrape_as_two_processes(tmp_path):
    with zeo_server(tmp_path) as (address, _):
        servers = [zeo_process(tmp_path, address, i).start() for i in range(2)]
        try:
            labels = set()
            for server in servers:
                server.request("/simple/")
                families = scrape(server)
                processes = {s.labels["process"] for s in families["localshop_requests"].samples}
                assert len(processes) == 1
                labels |= processes
                stored = families["localshop_repository_files"].samples
                assert [(s.labels["repository"], s.value) for s in stored] == [("default", 0)]
            assert len(labels) == 2  # one series per process: they add up, never mix
        finally:
            for server in servers:
                server.stop()
