"""Backup and restore of a real FileStorage with blobs (``shop.operations.backup``): full,
then incremental copies, restored as of the latest backup or an earlier one."""
from __future__ import annotations

import os
import time
from datetime import datetime, timezone

import pytest
import transaction
from ZODB import DB
from ZODB.blob import Blob
from zodburi import resolve_uri

from shop.operations.backup import (BackupError, UnsupportedStorage, backup, blob_files,
                                    embedded_paths, held, repozo_date, restore)
from shop.storage import DatabaseBusy


def uri_of(directory) -> str:
    return (f"file://{directory}/Data.fs?blobstorage_dir={directory}/blobs"
            "&blobstorage_layout=bushy")


def open_db(directory) -> DB:
    os.makedirs(directory / "blobs", exist_ok=True)
    factory, dbkw = resolve_uri(uri_of(directory))
    return DB(factory(), **dbkw)


def store(db: DB, **files: bytes) -> None:
    """One transaction storing each ``name=bytes`` as a blob under the root."""
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    with tm:
        for name, data in files.items():
            blob = Blob()
            with blob.open("w") as f:
                f.write(data)
            conn.root()[name] = blob
    conn.close()


def contents(directory) -> dict[str, bytes]:
    db = open_db(directory)
    try:
        conn = db.open()
        found = {}
        for name, blob in conn.root().items():
            if isinstance(blob, bytes):
                found[name] = blob
                continue
            with blob.open("r") as f:
                found[name] = f.read()
        conn.close()
        return found
    finally:
        db.close()


@pytest.fixture
def live(tmp_path):
    """A database kept open (as by a running server) while it is backed up."""
    db = open_db(tmp_path / "live")
    yield db
    db.close()


def test_backup_of_an_open_database_restores_every_blob(live, tmp_path):
    store(live, a=b"first" * 1000, b=b"second")
    written = backup(uri_of(tmp_path / "live"), str(tmp_path / "bk"))
    assert written.kind == "full" and written.blob_files == 2
    assert "Full backup of Data.fs" in written.describe("bk")
    restored = restore(uri_of(tmp_path / "new"), str(tmp_path / "bk"))
    assert restored.blob_files == 2
    assert contents(tmp_path / "new") == {"a": b"first" * 1000, "b": b"second"}


def test_a_second_backup_copies_only_what_is_new(live, tmp_path):
    store(live, a=os.urandom(200_000))
    first = backup(uri_of(tmp_path / "live"), str(tmp_path / "bk"))
    store(live, b=b"small")
    second = backup(uri_of(tmp_path / "live"), str(tmp_path / "bk"))
    assert second.kind == "incremental" and second.blob_files == 1
    assert second.total_bytes < first.total_bytes / 10
    third = backup(uri_of(tmp_path / "live"), str(tmp_path / "bk"))
    assert third.kind == "unchanged" and third.blob_files == 0
    restore(uri_of(tmp_path / "new"), str(tmp_path / "bk"))
    assert set(contents(tmp_path / "new")) == {"a", "b"}


def test_restore_with_a_date_brings_back_the_earlier_state(live, tmp_path):
    store(live, a=b"early")
    backup(uri_of(tmp_path / "live"), str(tmp_path / "bk"))
    between = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    time.sleep(1.1)
    store(live, b=b"late")
    backup(uri_of(tmp_path / "live"), str(tmp_path / "bk"))
    restored = restore(uri_of(tmp_path / "new"), str(tmp_path / "bk"), date=between)
    assert contents(tmp_path / "new") == {"a": b"early"}
    assert restored.blob_files == 1  # the later transaction's blob is not needed


def test_restore_refuses_to_overwrite_a_database_unless_forced(live, tmp_path):
    store(live, a=b"backed up")
    backup(uri_of(tmp_path / "live"), str(tmp_path / "bk"))
    other = open_db(tmp_path / "other")
    store(other, z=b"other")
    other.close()
    with pytest.raises(BackupError, match="--force"):
        restore(uri_of(tmp_path / "other"), str(tmp_path / "bk"))
    assert contents(tmp_path / "other") == {"z": b"other"}
    restore(uri_of(tmp_path / "other"), str(tmp_path / "bk"), force=True)
    assert contents(tmp_path / "other") == {"a": b"backed up"}
    assert all("0x" in path or path == ".layout"
               for path in blob_files(str(tmp_path / "other" / "blobs")))


def test_restore_refuses_while_a_process_holds_the_database(live, tmp_path):
    store(live, a=b"x")
    backup(uri_of(tmp_path / "live"), str(tmp_path / "bk"))
    with pytest.raises(DatabaseBusy, match="Stop the server"):
        restore(uri_of(tmp_path / "live"), str(tmp_path / "bk"), force=True)


def test_restore_from_a_directory_without_a_backup_says_so(tmp_path):
    with pytest.raises(BackupError, match="no backup"):
        restore(uri_of(tmp_path / "new"), str(tmp_path))


def test_held_lock_is_released(tmp_path):
    with held(str(tmp_path / "Data.fs")):
        pass
    with held(str(tmp_path / "Data.fs")):
        pass


@pytest.mark.parametrize("uri, named", [
    ("zeo://127.0.0.1:8100", "ZEO server"),
    ("postgres://user@localhost/shop", "pg_dump"),
])
def test_zeo_and_relstorage_are_left_to_the_engines_tools(uri, named):
    with pytest.raises(UnsupportedStorage, match=named):
        embedded_paths(uri)


def test_iso_dates_become_repozos_utc_format():
    assert repozo_date("2026-12-01T14:30:05Z") == "2026-12-01-14-30-05"
    assert repozo_date("2026-12-01T15:30:05+01:00") == "2026-12-01-14-30-05"
    assert repozo_date("2026-12-01") == "2026-12-01-00-00-00"
    with pytest.raises(BackupError, match="ISO 8601"):
        repozo_date("yesterday")


def test_a_pack_during_the_backup_makes_it_a_full_copy_of_the_packed_file(live, tmp_path,
                                                                           monkeypatch):
    from ZODB.scripts import repozo

    store(live, a=b"kept")
    backup(uri_of(tmp_path / "live"), str(tmp_path / "bk"))
    store(live, a=b"replaced", b=b"new")
    with live.transaction() as conn:  # records a pack keeps: the packed file is the longer
        conn.root()["records"] = b"r" * 100_000
    opened, packs = repozo.FileStorage, []

    def pack_first(*args, **kwargs):
        if not packs:  # the server packs (and replaces Data.fs) just as repozo opens it
            packs.append(live.pack(time.time() + 1))
        return opened(*args, **kwargs)

    monkeypatch.setattr(repozo, "FileStorage", pack_first)
    written = backup(uri_of(tmp_path / "live"), str(tmp_path / "bk"))
    assert packs and written.kind == "full"
    restore(uri_of(tmp_path / "new"), str(tmp_path / "bk"))
    found = contents(tmp_path / "new")
    assert found.pop("records") == b"r" * 100_000 and found == {"a": b"replaced", "b": b"new"}
