"""The first upload of a name installed through the mirror: said in the server's log and on
both browse pages, with the real server, uv and twine."""
from __future__ import annotations

import re

import pytest
import requests

from tests.e2e.clients import installed_module, make_venv, twine_upload, uv_install
from tests.e2e.server import LocalshopServer
from tests.factories import make_wheel
from tests.upstream import FakeIndex, UpstreamServer

pytestmark = pytest.mark.e2e

# The ini's format cuts the level to five letters: "WARNI".
LOGGED = re.compile(r"WARN.*\[shop\.hosting\.publishing\].*upload by admin of e2e-shadow "
                    r"to repository default hides 2 upstream files")


def text_of(response: requests.Response) -> str:
    assert response.status_code == 200, response.status_code
    return " ".join(response.text.split())


def test_the_first_upload_of_a_mirrored_name_is_logged_and_marked_on_both_pages(
        tmp_path, env, uv_cache):
    with UpstreamServer(FakeIndex()) as upstream:
        for version in ("8.0", "9.0"):
            upstream.index.add("e2e-shadow", make_wheel("e2e-shadow", version))
        shop = LocalshopServer(tmp_path / "localshop", settings={"shop.upstream": upstream.url})
        with shop:
            python = make_venv(tmp_path / "venv")
            index = shop.url + "/repo/default/"
            uv_install(python, index, "e2e-shadow", env=env, cache_dir=uv_cache)
            assert installed_module(python, "e2e_shadow", env).startswith("9.0")
            assert not LOGGED.search(shop.log())

            for version in ("1.0", "1.1"):
                ours = make_wheel("e2e-shadow", version).write(tmp_path)
                twine_upload([ours], "--repository-url", index, "-u", "admin",
                             "-p", shop.admin_password, env=env)
                assert len(LOGGED.findall(shop.log())) == 1, shop.log()[-2000:]

            admin = requests.Session()
            admin.auth = ("admin", shop.admin_password)  # a password over Basic: pages take it
            settings = f'<a href="{shop.url}/repo/default/+settings">allow merging in settings</a>'
            for path in ("/repo/default/e2e-shadow/+browse", "/repo/default/+browse"):
                page = text_of(admin.get(shop.url + path, timeout=30))
                assert "hides 2 upstream files" in page and settings in page, path
            anonymous = text_of(requests.get(shop.url + "/repo/default/e2e-shadow/+browse", timeout=30))
            assert "localshop -c INI repository set default --merge-allowed e2e-shadow" in anonymous
