"""Blocks end to end: a real server mirroring a loopback upstream, the ``localshop block``
commands on its database, real pip and uv resolving around what is blocked, and the admin
page (/+blocks) in a real Chromium."""
from __future__ import annotations

import pytest
import requests

from tests.e2e.browser import chromium, log_in
from tests.e2e.clients import (LOCALSHOP, installed_module, make_venv, modern_pip_install, run,
                               uv_install, words)
from tests.e2e.server import LocalshopServer
from tests.factories import make_wheel, upload_fields
from tests.osv_entries import MALICIOUS, write
from tests.storecheck import opened_storage, stored_files
from tests.upstream import FakeIndex, UpstreamServer

pytestmark = pytest.mark.e2e

REASON = "lib-a 2.0 steals credentials"


def localshop(server: LocalshopServer, *args: str) -> str:
    return run([LOCALSHOP, "-c", server.ini, *args], env=server.process_env()).stdout


def file_url(server: LocalshopServer, project: str, filename: str) -> str:
    page = server.project_json(project)
    entry = next(f for f in page["files"] if f["filename"] == filename)
    return f"{server.url}/repo/default/{project}/{entry['url']}"


def cached(server: LocalshopServer) -> set[str]:
    """The files of the stopped server's database that are stored (mirrored and kept)."""
    with opened_storage(server.var_dir) as root:
        return {f.filename for f in stored_files(root) if f.blob_sha256}


def test_pip_and_uv_pick_the_older_version_the_blocked_one_is_refused_though_cached(
        tmp_path, env, uv_cache):
    old, new = make_wheel("lib-a", "1.0"), make_wheel("lib-a", "2.0")
    evil = make_wheel("reqeusts-toolbelt", "0.1.1")
    with UpstreamServer(FakeIndex.of(old, new, evil)) as upstream:
        shop = LocalshopServer(tmp_path / "shop", settings={"shop.upstream": upstream.url}).start()
        try:
            index = shop.url + "/repo/default/"
            first = make_venv(tmp_path / "first")
            modern_pip_install(first, index, "lib-a", env=env)
            assert installed_module(first, "lib_a", env) == "2.0 wheel"  # and 2.0 is cached now
            url = file_url(shop, "lib-a", new.filename)
            shop.stop()
            assert new.filename in cached(shop)

            localshop(shop, "block", "add", "lib-a==2.0", "--reason", REASON)
            imported = localshop(shop, "block", "import-osv", str(write(tmp_path / "osv", MALICIOUS)))
            assert "1 blocks added" in imported
            shop.start()

            with_pip, with_uv = make_venv(tmp_path / "pip"), make_venv(tmp_path / "uv")
            modern_pip_install(with_pip, index, "lib-a", env=env)
            uv_install(with_uv, index, "lib-a", env=env, cache_dir=uv_cache)
            assert installed_module(with_pip, "lib_a", env) == "1.0 wheel"
            assert installed_module(with_uv, "lib_a", env) == "1.0 wheel"
            refused = requests.get(url, timeout=30)
            assert refused.status_code == 403 and REASON in refused.text

            for installer in (
                    lambda: modern_pip_install(with_pip, index, "reqeusts-toolbelt", env=env, expect=1),
                    lambda: uv_install(with_uv, index, "reqeusts-toolbelt", env=env,
                                       cache_dir=uv_cache, expect=1)):
                assert "reqeusts-toolbelt" in words(installer().output)
            page = shop.project_json("reqeusts-toolbelt")
            assert page["files"] == [] and page["project-status"]["status"] == "quarantined"
            assert upstream.count("/files/" + evil.filename) == 0  # never fetched
        finally:
            shop.stop()


def test_the_blocks_page_in_a_browser_adds_and_removes_a_block(tmp_path):
    wheel = make_wheel("browsed", "1.0")
    with LocalshopServer(tmp_path / "shop", settings={"shop.default.anonymous_read": "true"}) as shop:
        response = requests.post(shop.url + "/repo/default/", data=upload_fields(wheel),
                                 files={"content": (wheel.filename, wheel.data)},
                                 auth=("admin", shop.admin_password), timeout=30)
        assert response.status_code == 200, response.text
        url = file_url(shop, "browsed", wheel.filename)
        with chromium() as browser:
            page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
            log_in(page, shop.url, "admin", shop.admin_password)
            page.click("nav >> text=Blocks")
            page.wait_for_load_state()
            assert page.url == shop.url + "/+blocks"
            page.fill("#add-block input[name=spec]", "browsed==1.0")
            page.fill("#add-block input[name=reason]", "pulled by its author")
            page.select_option("#add-block select[name=repository]", "default")
            with page.expect_navigation():
                page.click("#add-block button[type=submit]")
            rows = page.locator("#blocks tr.block").all_inner_texts()
            assert len(rows) == 1 and "browsed==1.0" in rows[0] and "default" in rows[0]
            assert "pulled by its author" in rows[0] and "admin" in rows[0]
            assert requests.get(url, timeout=10).status_code == 403
            assert shop.project_files("browsed") == {}

            with page.expect_navigation():
                page.click("#blocks a:text('Remove')")
            assert "Remove the block of browsed==1.0 in repository default?" in page.inner_text("h1")
            with page.expect_navigation():
                page.click("#confirm button[type=submit]")
            assert "Removed the block of browsed==1.0" in page.inner_text("p.flash")
            assert page.locator("#blocks tr.block").count() == 0
            assert requests.get(url, timeout=10).status_code == 200
