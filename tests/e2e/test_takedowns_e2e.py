"""Takedowns end to end: the real server, a real upstream on loopback, real pip and uv.

A file upstream removes stops being served once the mirror has re-checked (pip and uv then
pick another version, or fail on the one pinned); while upstream is merely down, what is
cached keeps being served; a quarantined upstream project offers no files.
"""
from __future__ import annotations

import pytest

from tests.e2e.clients import installed_module, make_venv, modern_pip_install, uv_install, words
from tests.e2e.test_mirror_e2e import index_url, make_mirror  # noqa: F401 (fixture)
from tests.factories import make_wheel
from tests.upstream import FakeIndex, TimedUpstreamServer

pytestmark = pytest.mark.e2e


def test_a_file_removed_upstream_stops_being_served_and_upstream_down_changes_nothing(
        tmp_path, make_mirror, env):
    old, new = make_wheel("app-one", "1.0"), make_wheel("app-one", "2.0")
    index = FakeIndex()
    index.add("app-one", old)
    index.add("app-one", new)
    upstream = TimedUpstreamServer(index).start()
    try:
        shop = make_mirror(upstream, **{"shop.mirror.index_ttl": "0",
                                        "shop.upstream.timeout": "1 1"})
        first = make_venv(tmp_path / "first")
        modern_pip_install(first, index_url(shop), "app-one", env=env)
        assert installed_module(first, "app_one", env) == "2.0 wheel"  # 2.0 is cached now

        index.projects["app-one"] = [f for f in index.projects["app-one"]
                                     if f.filename != new.filename]  # upstream removes 2.0
        after = make_venv(tmp_path / "after")
        modern_pip_install(after, index_url(shop), "app-one", env=env)
        assert installed_module(after, "app_one", env) == "1.0 wheel"  # 2.0 is not offered
        pinned = uv_install(make_venv(tmp_path / "uv-pinned"), index_url(shop), "app-one==2.0",
                            env=env, cache_dir=tmp_path / "uv-1", expect=1)
        assert "app-one==2.0" in words(pinned.output), pinned
        status, _, body = shop.request(f"/repo/default/app-one/2/{new.filename}")
        assert status == 410 and b"removed upstream" in body
    finally:
        upstream.stop()  # upstream down: the cache (1.0, fetched above) keeps serving

    down = make_venv(tmp_path / "down")
    uv_install(down, index_url(shop), "app-one", env=env, cache_dir=tmp_path / "uv-2")
    assert installed_module(down, "app_one", env) == "1.0 wheel"
    assert "serving the cached page of app-one" in shop.log()


def test_a_quarantined_upstream_project_offers_no_files(tmp_path, make_mirror, env):
    index = FakeIndex()
    index.add("app-one", make_wheel("app-one", "1.0"))
    index.set_status("app-one", "quarantined", "malware found")
    with TimedUpstreamServer(index) as upstream:
        shop = make_mirror(upstream)
        page = shop.project_json("app-one")
        assert page["project-status"] == {"status": "quarantined", "reason": "malware found"}
        assert page["files"] == []
        venv = make_venv(tmp_path / "uv")
        result = uv_install(venv, index_url(shop), "app-one", env=env,
                            cache_dir=tmp_path / "uv-cache", expect=1)
        pip = modern_pip_install(make_venv(tmp_path / "pip"), index_url(shop), "app-one",
                                 env=env, expect=1)
    assert "app-one" in result.output and "no versions" in words(result.output).lower(), result
    assert "No matching distribution found for app-one" in words(pip.output), pip
    # uv 0.13.9's ``pip install`` says nothing of the status (its ``uv audit`` reports
    # adverse statuses of a locked project): this records what it prints.
    assert "quarantine" not in result.output.replace(str(tmp_path), "").lower(), result
