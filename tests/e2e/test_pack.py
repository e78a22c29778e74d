"""``localshop pack`` against a running server: the server packs (it holds the FileStorage's
lock), the bytes of a deleted 20 MB release leave the blob directory, and installs go on."""
from __future__ import annotations

import os
import re
import threading

import pytest
import requests

from shop.model.names import version_key
from tests.e2e.clients import LOCALSHOP, make_venv, run, twine_upload, uv_install
from tests.e2e.server import LocalshopServer
from tests.factories import make_wheel

pytestmark = pytest.mark.e2e

MB = 1_000_000
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def shop(tmp_path) -> LocalshopServer:
    with LocalshopServer(tmp_path / "shop") as server:
        yield server


def blob_bytes(server: LocalshopServer) -> int:
    total = 0
    for folder, _, files in os.walk(server.var_dir / "blobs"):
        total += sum(os.lstat(os.path.join(folder, name)).st_size for name in files)
    return total


def localshop(server: LocalshopServer, *args: str, env=None, input=None, expect=0):
    return run([LOCALSHOP, "-c", server.ini, *args], env=env or server.process_env(),
               input=input, expect=expect, timeout=300)


def delete_release(server: LocalshopServer, project: str, version: str) -> None:
    """Delete a release as the admin page does: its confirmation form, CSRF token and all."""
    session = requests.Session()
    session.auth = ("admin", server.admin_password)
    url = f"{server.url}/repo/default/{project}/{version_key(version)}/+delete"
    page = session.get(url, timeout=10)
    assert page.status_code == 200, page.text
    token = CSRF.search(page.text).group(1)
    done = session.post(url, data={"csrf_token": token}, allow_redirects=False, timeout=10)
    assert done.status_code == 302, done.text


def test_pack_on_a_running_server_frees_a_deleted_20_mb_release(shop, env, tmp_path, uv_cache):
    big, small = make_wheel("big", "1.0", padding=20 * MB), make_wheel("small", "1.0")
    twine_upload([big.write(tmp_path), small.write(tmp_path)],
                 "--repository-url", shop.url + "/repo/default/",
                 "-u", "admin", "-p", shop.admin_password, env=env)
    delete_release(shop, "big", "1.0")
    assert shop.project_files("big") == {}
    before = blob_bytes(shop)

    # Requests go on while the server packs.
    stop, answers = threading.Event(), []

    def read_pages() -> None:
        while not stop.is_set():
            answers.append(shop.request("/simple/small/")[0])

    reader = threading.Thread(target=read_pages)
    reader.start()
    try:
        packed = localshop(shop, "pack")
    finally:
        stop.set()
        reader.join()

    freed = before - blob_bytes(shop)
    assert 19 * MB < freed < 22 * MB, (before, freed)
    assert "blob directory:" in packed.stdout and "MB" in packed.stdout
    assert answers and set(answers) == {200}
    python = make_venv(tmp_path / "venv")
    uv_install(python, shop.url + "/simple/", "small", env=env, cache_dir=uv_cache)
    assert shop.running


def test_pack_asks_for_an_admins_password_and_refuses_anyone_else(shop, env):
    no_password = {k: v for k, v in shop.process_env().items() if k != "LOCALSHOP_ADMIN_PASSWORD"}
    refused = localshop(shop, "pack", env=no_password, expect=2)
    assert "--password-stdin or LOCALSHOP_ADMIN_PASSWORD" in refused.stderr

    wrong = localshop(shop, "pack", "--password-stdin", input="wrong\n", env=no_password,
                      expect=1)
    assert "refused to pack" in wrong.stderr and "Invalid credentials" in wrong.stderr

    right = localshop(shop, "pack", "--days", "1", "--password-stdin",
                      input=shop.admin_password + "\n", env=no_password)
    assert "keeping 1 days of history" in right.stdout


def test_pack_with_the_server_stopped_packs_the_database_itself(shop, env, tmp_path):
    twine_upload([make_wheel("big", "1.0", padding=2 * MB).write(tmp_path)],
                 "--repository-url", shop.url + "/repo/default/",
                 "-u", "admin", "-p", shop.admin_password, env=env)
    delete_release(shop, "big", "1.0")
    shop.stop()
    before = blob_bytes(shop)

    localshop(shop, "pack", env={k: v for k, v in shop.process_env().items()
                                 if k != "LOCALSHOP_ADMIN_PASSWORD"})  # no server to ask

    assert before - blob_bytes(shop) > 2 * MB
    shop.start()
    assert shop.project_files("big") == {}
