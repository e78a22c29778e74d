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
from tests.e2e.zeoserver import zeo_server
from tests.factories import make_wheel

pytestmark = pytest.mark.e2e

MB = 1_000_000
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def shop(tmp_path) -> LocalshopServer:
    with LocalshopServer(tmp_path / "shop") as server:
        yield server


def tree_bytes(path) -> int:
    total = 0
    for folder, _, files in os.walk(path):
        total += sum(os.lstat(os.path.join(folder, name)).st_size for name in files)
    return total


def blob_bytes(server: LocalshopServer) -> int:
    return tree_bytes(server.var_dir / "blobs")


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


@pytest.fixture
def zeo(tmp_path):
    """A ZEO server on loopback, configured as the README says for packing: the old copies
    (Data.fs.old, blobs.old) not kept; yields its address and its blob directory."""
    with zeo_server(tmp_path, keep_old=False) as running:
        yield running


def test_pack_with_zeo_packs_on_the_zeo_server_while_localshop_runs(zeo, env, tmp_path):
    address, blobs = zeo
    uri = f"zeo://{address}?blob_dir={tmp_path / 'cache'}&shared_blob_dir=false"
    with LocalshopServer(tmp_path / "shop", settings={"zodbconn.uri": uri, "shop.secret": "s"}) as server:
        twine_upload([make_wheel("big", "1.0", padding=5 * MB).write(tmp_path)],
                     "--repository-url", server.url + "/repo/default/",
                     "-u", "admin", "-p", server.admin_password, env=env)
        delete_release(server, "big", "1.0")
        before = tree_bytes(blobs)

        packed = localshop(server, "pack")  # a ZEO client of its own: no server to ask

        assert before - tree_bytes(blobs) > 5 * MB
        assert not (blobs.parent / "zeo-blobs.old").exists()
        assert "Packed the database" in packed.stdout
        assert server.request("/simple/")[0] == 200
