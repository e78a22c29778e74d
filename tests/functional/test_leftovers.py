"""Temporary files a crashed process left beside the blobs: removed at the next start, unless a
live process holds them."""
from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from shop.scratch import ScratchFile, remove_leftovers
from shop.storage import open_database
from tests.conftest import app_settings
from tests.factories import make_wheel
from tests.functional.conftest import upload

pytestmark = pytest.mark.fault

# What each of localshop's writers leaves when the process dies mid-write (kill -9, power).
LEFTOVERS = {
    "upload-k2j3h4.part": b"half an upload",
    "mirror-9f8e7d.part": b"half a mirrored file",
    "mirror-9f8e7d.part.0": b"a hard link store_blob consumed in a commit that never ended",
    "metadata-a1b2c3": b"Metadata-Version: 2.1\n",
    "metadata-a1b2c3.1": b"Metadata-Version: 2.1\n",
    "BUCx7y8z9": b"a file a blob took over, in a commit that never ended",
}


def blob_tmp(var_dir: Path) -> Path:
    return var_dir / "blobs" / "tmp"


def leave_leftovers(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, data in LEFTOVERS.items():
        (directory / name).write_bytes(data)
    (directory / "not-ours.txt").write_bytes(b"someone else's file")


def test_the_server_removes_what_a_crashed_one_left_and_says_so(make_app, tmp_path, caplog):
    leave_leftovers(blob_tmp(tmp_path / "var"))
    with caplog.at_level(logging.WARNING, logger="shop.storage"):
        make_app()
    assert sorted(os.listdir(blob_tmp(tmp_path / "var"))) == ["not-ours.txt"]
    size = sum(len(data) for data in LEFTOVERS.values())
    assert f"Removed {len(LEFTOVERS)} temporary files ({size} bytes)" in caplog.text


def test_a_command_opening_the_database_removes_them_too(tmp_path):
    uri = app_settings(tmp_path / "var")["zodbconn.uri"]
    open_database(uri).close()
    leave_leftovers(blob_tmp(tmp_path / "var"))
    db = open_database(uri)
    try:
        assert sorted(os.listdir(blob_tmp(tmp_path / "var"))) == ["not-ours.txt"]
        assert remove_leftovers(db) == (0, 0)  # nothing more, and quiet
    finally:
        db.close()


HOLDER = """
import sys
from shop.scratch import ScratchFile
scratch = ScratchFile(sys.argv[1], "mirror-", ".part")
with scratch.writer() as f:
    f.write(b"still being written")
import os
os.link(scratch.path, scratch.path + ".0")  # what store_blob hands a blob
print(scratch.path, flush=True)
sys.stdin.read()
"""


def test_files_a_live_process_holds_are_kept(tmp_path):
    uri = app_settings(tmp_path / "var")["zodbconn.uri"]
    open_database(uri).close()
    directory = blob_tmp(tmp_path / "var")
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(directory)], text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    try:
        path = holder.stdout.readline().strip()
        db = open_database(uri)
        try:
            assert sorted(os.listdir(directory)) == sorted([os.path.basename(path),
                                                            os.path.basename(path) + ".0"])
        finally:
            db.close()
    finally:
        holder.stdin.close()
        holder.wait(10)
        holder.stdout.close()
    # The holder is gone (as after a crash): the next start removes both names.
    db = open_database(uri)
    try:
        assert os.listdir(directory) == []
    finally:
        db.close()


def test_a_scratch_file_is_held_until_released_not_until_its_writer_closes(tmp_path):
    uri = app_settings(tmp_path / "var")["zodbconn.uri"]
    db = open_database(uri)
    try:
        scratch = ScratchFile(db.storage.temporaryDirectory(), "upload-", ".part")
        with scratch.writer() as f:
            f.write(b"bytes")
        assert remove_leftovers(db) == (0, 0)
        scratch.release()
        assert remove_leftovers(db) == (1, 5)
    finally:
        db.close()


CRASHING_COMMIT = """
import os, sys
from ZODB.Connection import TransactionMetaData
from ZODB.utils import z64
from zodburi import resolve_uri
storage = resolve_uri(sys.argv[1])[0]()
txn = TransactionMetaData()
storage.tpc_begin(txn)
path = os.path.join(storage.temporaryDirectory(), "upload-crash.part")
with open(path, "wb") as f:
    f.write(b"x" * 1000)
storage.storeBlob(storage.new_oid(), z64, b"(cZODB.blob\\nBlob\\nq\\x01)\\x81.N.", path, "", txn)
storage.tpc_vote(txn)  # the blob file is beside the blobs now, the transaction not yet on disk
os.kill(os.getpid(), 9)
"""


def blob_files(var_dir: Path) -> list[Path]:
    return sorted((var_dir / "blobs").rglob("*.blob"))


def test_blob_files_of_a_commit_killed_half_way_are_removed_at_the_next_start(make_app, tmp_path):
    uri = app_settings(tmp_path / "var")["zodbconn.uri"]
    open_database(uri).close()
    crashed = subprocess.run([sys.executable, "-c", CRASHING_COMMIT, uri], capture_output=True,
                             env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert crashed.returncode == -9, crashed.stderr
    assert len(blob_files(tmp_path / "var")) == 1  # what the killed commit left
    app = make_app()
    assert blob_files(tmp_path / "var") == []
    # The database goes on as before: a stored file is the one blob file there is.
    assert upload(app, make_wheel("after", "1.0")).status_int == 200
    assert len(blob_files(tmp_path / "var")) == 2  # the wheel and its METADATA
