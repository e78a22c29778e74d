"""``localshop check`` beside a real running server, and ``localshop copy`` FileStorage -> ZEO
-> FileStorage with the real command, a real ZEO server and a server started on the copy."""
from __future__ import annotations

import hashlib
import os

import pytest
import requests
from ZODB.FileStorage import FileStorage

from tests.e2e.clients import LOCALSHOP, Result, run
from tests.e2e.server import LocalshopServer
from tests.e2e.test_zeo import zeo  # noqa: F401 (a fixture: a real ZEO server on loopback)
from tests.factories import make_wheel, upload_fields

pytestmark = pytest.mark.e2e


@pytest.fixture
def shop(tmp_path):
    server = LocalshopServer(tmp_path / "shop")
    yield server
    server.stop()


def localshop(server: LocalshopServer, *args: str, expect: int | None = 0) -> Result:
    return run([LOCALSHOP, "-c", server.ini, *args], env=server.process_env(), expect=expect)


def uploaded(server: LocalshopServer, count: int = 3) -> dict[str, str]:
    """Upload ``count`` wheels (one padded to 1 MB); {filename: sha256}."""
    files = {}
    for i in range(count):
        dist = make_wheel(f"project-{i}", "1.0", padding=1024 * 1024 if i == 0 else 0)
        r = requests.post(server.url + "/repo/default/", data=upload_fields(dist),
                          files={"content": (dist.filename, dist.data)},
                          auth=("admin", server.admin_password), timeout=30)
        assert r.status_code == 200, r.text
        files[dist.filename] = dist.sha256
    return files


def downloaded(server: LocalshopServer, files: dict[str, str]) -> dict[str, str]:
    """Every file of ``files`` as the server sends it: {filename: sha256 of the bytes}."""
    got = {}
    for filename in files:
        project = filename.split("-")[0].replace("_", "-")
        url = f"{server.url}/repo/default/{project}/1/{filename}"
        r = requests.get(url, auth=("admin", server.admin_password), timeout=30)
        assert r.status_code == 200, (url, r.status_code)
        got[filename] = hashlib.sha256(r.content).hexdigest()
    return got


def transactions(path) -> list[bytes]:
    """The ids of a stopped FileStorage's transactions."""
    storage = FileStorage(str(path), read_only=True)
    try:
        return [t.tid for t in storage.iterator()]
    finally:
        storage.close()


def test_check_reads_beside_the_running_server_and_finds_a_flipped_byte(shop):
    shop.start()
    files = uploaded(shop)

    result = localshop(shop, "check")
    assert "3 stored files" in result.stdout and "all well" in result.stdout
    assert len(result.stdout.splitlines()) == 1
    assert "objects:" not in result.stderr and "%|" not in result.stderr  # no bar off a terminal

    blob = max((p for p in shop.var_dir.rglob("*.blob")), key=lambda p: p.stat().st_size)
    os.chmod(blob, 0o644)
    data = bytearray(blob.read_bytes())
    data[100] ^= 0xFF
    blob.write_bytes(bytes(data))
    broken = localshop(shop, "check", expect=1)
    [line] = broken.stdout.splitlines()
    assert line.startswith("default/project-0/project_0-1.0-py3-none-any.whl: its blob's sha256")
    assert "hosted" in line
    refused = localshop(shop, "check", "--repair", expect=2)  # it writes: the server holds the lock
    assert "Stop the server first" in refused.stderr
    assert shop.running and len(files) == 3


def test_copy_from_filestorage_to_zeo_and_back_keeps_every_file(shop, tmp_path, zeo):  # noqa: F811
    address, _ = zeo
    shop.start()
    files = uploaded(shop)
    shop.stop()
    zeo_uri = f"zeo://{address}?blob_dir={tmp_path / 'zeo-cache'}&shared_blob_dir=false"

    to_zeo = localshop(shop, "copy", "--to", zeo_uri)
    assert "Copied" in to_zeo.stdout and "all well" in to_zeo.stdout, to_zeo
    refused = localshop(shop, "copy", "--to", zeo_uri, expect=1)
    assert "is not empty" in refused.stderr

    on_zeo = LocalshopServer(tmp_path / "on-zeo", settings={"zodbconn.uri": zeo_uri,
                                                            "shop.secret": "a-secret-for-zeo"})
    back = LocalshopServer(tmp_path / "back", admin_password=shop.admin_password)
    back_uri = (f"file://{back.var_dir}/Data.fs?blobstorage_dir={back.var_dir}/blobs"
                "&blobstorage_layout=bushy")
    to_file = localshop(on_zeo, "copy", "--to", back_uri)
    assert "all well" in to_file.stdout, to_file
    with back:
        assert downloaded(back, files) == files
        assert "3 stored files" in localshop(back, "check").stdout


def test_copy_with_history_keeps_every_transaction_and_refuses_zeo(shop, tmp_path, zeo):  # noqa: F811
    address, _ = zeo
    shop.start()
    files = uploaded(shop, 2)
    shop.stop()
    copy = tmp_path / "copy"
    uri = f"file://{copy}/Data.fs?blobstorage_dir={copy}/blobs&blobstorage_layout=bushy"

    copied = localshop(shop, "copy", "--to", uri, "--history")
    assert "all well" in copied.stdout, copied
    assert transactions(copy / "Data.fs") == transactions(shop.var_dir / "Data.fs")

    zeo_uri = f"zeo://{address}?blob_dir={tmp_path / 'zeo-cache'}&shared_blob_dir=false"
    refused = localshop(shop, "copy", "--to", zeo_uri, "--history", expect=1)
    assert "cannot take history with blobs" in refused.stderr and len(files) == 2
