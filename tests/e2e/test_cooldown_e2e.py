"""The cooldown end to end: real pip and uv through the real server, and a loopback upstream
that says when each file was uploaded."""
from __future__ import annotations

import datetime

import pytest

from tests.e2e.clients import (LOCALSHOP, installed_module, make_venv, modern_pip_install, run,
                               uv_install)
from tests.e2e.test_mirror_e2e import index_url, make_mirror  # noqa: F401
from tests.factories import make_wheel
from tests.upstream import FakeIndex, TimedUpstreamServer

pytestmark = pytest.mark.e2e


def ago(**kw) -> str:
    when = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(**kw)
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def localshop(server, *args: str):
    return run([LOCALSHOP, "-c", server.ini, *args], env=server.process_env())


def installs(tmp_path, shop, name: str, env, uv_cache, expect: int = 0) -> list:
    """Install ``name`` with pip and with uv, each into a new environment; their results."""
    results = []
    for tool in ("pip", "uv"):
        venv = make_venv(tmp_path / f"{tool}-{name}-{len(list(tmp_path.iterdir()))}")
        if tool == "pip":
            modern_pip_install(venv, index_url(shop), name, env=env, expect=expect)
        else:
            uv_install(venv, index_url(shop), name, env=env, cache_dir=uv_cache, expect=expect)
        results.append(venv)
    return results


def test_a_version_uploaded_yesterday_waits_out_a_seven_day_cooldown_unless_exempted(
        tmp_path, make_mirror, env, uv_cache):  # noqa: F811
    index = FakeIndex()
    index.add("app-one", make_wheel("app-one", "1.0"), upload_time=ago(days=365))
    index.add("app-one", make_wheel("app-one", "1.1"), upload_time=ago(days=1))
    index.add("dark-one", make_wheel("dark-one", "1.0"), upload_time=None)  # time unknown
    with TimedUpstreamServer(index) as upstream:
        shop = make_mirror(upstream)
        shop.stop()
        localshop(shop, "repository", "set", "default", "--min-age", "7d")
        shop.start()
        for venv in installs(tmp_path, shop, "app-one", env, uv_cache):
            assert installed_module(venv, "app_one", env) == "1.0 wheel"  # the older one
        installs(tmp_path, shop, "dark-one", env, uv_cache, expect=1)  # held back: fails closed
        status, _, body = shop.request("/repo/default/app-one/1.1/app_one-1.1-py3-none-any.whl")
        assert status == 404 and b"held back by the repository's cooldown" in body

        shop.stop()
        localshop(shop, "repository", "set", "default", "--cooldown-exempt", "app-one==1.1")
        shop.start()
        for venv in installs(tmp_path, shop, "app-one", env, uv_cache):
            assert installed_module(venv, "app_one", env) == "1.1 wheel"  # let through
        installs(tmp_path, shop, "dark-one", env, uv_cache, expect=1)  # still held

        shop.stop()
        localshop(shop, "repository", "set", "default", "--min-age", "0")
        shop.start()
        for venv in installs(tmp_path, shop, "dark-one", env, uv_cache):
            assert installed_module(venv, "dark_one", env) == "1.0 wheel"
        shop.stop()
