"""What the server's log says during ordinary use: no ZODB pool warnings, an access line for
every request (the replayed pages too), with its status and its user."""
from __future__ import annotations

import pytest

from tests.e2e.clients import client_env, make_venv, uv_install
from tests.e2e.server import LocalshopServer
from tests.factories import make_wheel
from tests.upstream import FakeIndex, Fault, TimedUpstreamServer

pytestmark = pytest.mark.e2e

PROJECTS = [f"logged-{n}" for n in range(16)]


def test_parallel_install_through_the_mirror_leaves_no_connection_pool_warning(tmp_path):
    index = FakeIndex()
    for name in PROJECTS:
        index.add(name, make_wheel(name, "1.0"))
    with TimedUpstreamServer(index) as upstream:
        # A distant upstream: every waitress thread waits on it at once, each holding its
        # request's connection, while the mirror stores the files fetched before.
        for name in PROJECTS:
            upstream.faults[f"/simple/{name}/"] = Fault("late", seconds=0.5)
        shop = LocalshopServer(tmp_path / "shop", settings={"shop.upstream": upstream.url})
        with shop:
            python = make_venv(tmp_path / "venv")
            env = client_env(tmp_path / "home", UV_CONCURRENT_DOWNLOADS="32")
            uv_install(python, shop.url + "/repo/default/", *PROJECTS, env=env,
                       cache_dir=tmp_path / "uv-cache")

    log = shop.log()
    assert "open connections with a pool_size" not in log, log
    assert "Connection pool size" in log

