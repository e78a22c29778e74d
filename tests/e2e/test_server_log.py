"""What the server's log says during ordinary use: no ZODB pool warnings, an access line for
every request (the replayed pages too), with its status and its user."""
from __future__ import annotations

import re

import pytest

from tests.e2e.clients import client_env, make_venv, modern_pip_install, twine_upload, uv_install
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


ACCESS_LINE = re.compile(r'\[shop\.accesslog\]\[access-log\] (\S+) (\S+) "(\S+) (\S+)" (\d{3}) (\d+)'
                         r' ([\d.]+)ms "((?:[^"\\]|\\.)*)"')


def access_lines(server: LocalshopServer) -> list[tuple[str, ...]]:
    """(address, user, method, target, status, bytes, ms, agent) of each access line."""
    return [m.groups() for m in ACCESS_LINE.finditer(server.log())]


def test_pip_install_writes_access_lines_with_status_and_user(tmp_path):
    with LocalshopServer(tmp_path / "shop") as shop:
        wheel = make_wheel("logged-app", "1.0")
        twine_upload([wheel.write(tmp_path)], "--repository-url", shop.url + "/repo/default/",
                     "-u", "admin", "-p", shop.admin_password, env=client_env(tmp_path / "home"))
        python = make_venv(tmp_path / "venv")
        env = client_env(tmp_path / "home")
        index = shop.url.replace("://", f"://admin:{shop.admin_password}@") + "/repo/default/"
        modern_pip_install(python, index, "logged-app", env=env)
        shop.request("/simple/logged-app/")  # anonymous, twice: the second one is replayed
        shop.request("/simple/logged-app/")
        shop.stop()  # the writer's queue is flushed at exit
        lines = access_lines(shop)
        log = shop.log()

    assert shop.admin_password not in log  # the Basic credentials are never logged
    uploads = [line for line in lines if line[2] == "POST"]
    assert [(u[1], u[3], u[4]) for u in uploads] == [("admin", "/repo/default/", "200")]
    by_pip = [line for line in lines if line[7].startswith("pip/")]
    page = next(line for line in by_pip if line[3] == "/repo/default/logged-app/")
    assert page[:2] == ("127.0.0.1", "admin") and page[4] == "200"
    download = next(line for line in by_pip if line[3].endswith(wheel.filename))
    assert download[1] == "admin" and download[4] == "200"
    assert int(download[5]) == len(wheel.data)
    anonymous = [line for line in lines if line[3] == "/simple/logged-app/"]
    assert [(a[1], a[4]) for a in anonymous] == [("-", "200"), ("-", "200")]
    assert "Python-urllib" in anonymous[0][7]
