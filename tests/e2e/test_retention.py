"""Retention end to end: a real server with a loopback upstream and a small mirror cache, its
periodic clean-up evicting while the real pip keeps installing through it; and ``cleanup
--dry-run`` then ``cleanup`` on the stopped server's database."""
from __future__ import annotations

import re
import time

import pytest

from tests.e2e.clients import LOCALSHOP, installed_module, make_venv, modern_pip_install, run
from tests.e2e.server import LocalshopServer
from tests.factories import make_wheel
from tests.storecheck import assert_consistent, opened_storage
from tests.upstream import FakeIndex, TimedUpstreamServer

pytestmark = pytest.mark.e2e

PADDING = 60_000
LIMIT = 150_000  # two of the wheels below (a little over 60 KB each), not three


def localshop(server: LocalshopServer, *args: str, expect: int | None = 0) -> str:
    return run([LOCALSHOP, "-c", server.ini, *args], env=server.process_env(),
               expect=expect).stdout


def cached_bytes(server: LocalshopServer) -> int:
    """The mirrored bytes stored, as ``cleanup --dry-run`` reads them beside the server."""
    out = localshop(server, "cleanup", "--dry-run")
    return int(re.search(r"default: mirrored \d+ files, (\d+) bytes stored", out)[1])


def wait_for(predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_mirror_eviction_keeps_the_cache_under_its_size_while_pip_installs_continue(tmp_path, env):
    wheels = [make_wheel(f"cached-{i}", "1.0", padding=PADDING) for i in range(4)]
    assert 2 * len(wheels[0].data) <= LIMIT < 3 * len(wheels[0].data)
    index = FakeIndex()
    for wheel in wheels:
        index.add(wheel.name, wheel)
    with TimedUpstreamServer(index) as upstream:
        shop = LocalshopServer(tmp_path / "shop", settings={
            "shop.upstream": upstream.url, "shop.cleanup_interval": "1"})
        try:
            # Set on the stopped server (the first command makes the database).
            localshop(shop, "repository", "set", "default", "--mirror-cache-size", f"{LIMIT}")
            assert "mirror-cache-size " in localshop(shop, "repository", "list")
            shop.start()
            for i, wheel in enumerate(wheels):
                venv = make_venv(tmp_path / f"venv-{i}")
                modern_pip_install(venv, shop.url + "/simple/", wheel.name, env=env)
                assert installed_module(venv, f"cached_{i}", env) == "1.0 wheel"
                wait_for(lambda: cached_bytes(shop) <= LIMIT)
            # cached-0 and cached-1, downloaded longest ago, were evicted; 2 and 3 are kept.
            again = make_venv(tmp_path / "venv-again")
            modern_pip_install(again, shop.url + "/simple/", "cached-3", "cached-0", env=env)
            assert installed_module(again, "cached_0", env) == "1.0 wheel"
            assert upstream.count("/files/" + wheels[3].filename) == 1  # still cached
            assert upstream.count("/files/" + wheels[0].filename) == 2  # fetched again
            wait_for(lambda: cached_bytes(shop) <= LIMIT)
            assert "retention: evict" in shop.log()
        finally:
            shop.stop()
    with opened_storage(shop.var_dir) as root:
        files = {f.filename: f for f in assert_consistent(root)}
    kept = {name for name, f in files.items() if f.blob_sha256}
    assert kept == {wheels[3].filename, wheels[0].filename}


def test_dry_run_then_cleanup_on_a_stopped_server_delete_the_same_files(tmp_path, env):
    wheels = [make_wheel(f"cached-{i}", "1.0", padding=PADDING) for i in range(3)]
    index = FakeIndex()
    for wheel in wheels:
        index.add(wheel.name, wheel)
    with TimedUpstreamServer(index) as upstream:
        shop = LocalshopServer(tmp_path / "shop", settings={
            "shop.upstream": upstream.url, "shop.cleanup_interval": "0"})
        try:
            shop.start()
            venv = make_venv(tmp_path / "venv")
            for wheel in reversed(wheels):  # cached-2 is downloaded longest ago
                modern_pip_install(venv, shop.url + "/simple/", wheel.name, env=env)
        finally:
            shop.stop()  # the download times, not written yet (interval 0), are written at exit
    refused = run([LOCALSHOP, "-c", shop.ini, "repository", "set", "default",
                   "--mirror-cache-size", "ample"], env=shop.process_env(), expect=1)
    assert "Invalid mirror cache size 'ample'" in refused.stderr
    localshop(shop, "repository", "set", "default", "--mirror-cache-size", f"{LIMIT}")
    dry = localshop(shop, "cleanup", "--dry-run").splitlines()
    done = localshop(shop, "cleanup").splitlines()
    # By name (had no time been written) cached-0 would go first.
    assert dry[0].split()[:2] == ["evict", "default/cached-2"] and dry[1].startswith("Would delete 1 files")
    assert done[0] == dry[0] and done[1].startswith("Deleted 1 files")
    assert localshop(shop, "cleanup", "--dry-run").startswith("Would delete 0 files")
