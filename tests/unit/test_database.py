"""Opening the database: the storage a ``file://`` URI with blobs gives must not lose blobs."""
from __future__ import annotations

import os

import pytest
from ZODB.Connection import TransactionMetaData
from ZODB.utils import z64
from zodburi import resolve_uri

from shop.storage import guard_blob_aborts


@pytest.fixture
def blob_storage(tmp_path):
    """The storage ``file://...?blobstorage_dir=`` names: ZODB's BlobStorage over a FileStorage."""
    factory, _ = resolve_uri(f"file://{tmp_path}/Data.fs?blobstorage_dir={tmp_path}/blobs")
    storage = factory()
    yield storage
    storage.close()


def store_blob(storage, txn, data: bytes) -> bytes:
    """Store a new blob object holding ``data`` in the (begun) transaction; return its oid."""
    path = os.path.join(storage.temporaryDirectory(), f"upload-{len(data)}")
    with open(path, "wb") as f:
        f.write(data)
    oid = storage.new_oid()
    storage.storeBlob(oid, z64, b"(cZODB.blob\nBlob\nq\x01)\x81.N.", path, "", txn)
    return oid


def test_a_transaction_aborting_outside_the_commit_lock_leaves_the_committing_ones_blobs(blob_storage):
    guard_blob_aborts(blob_storage)
    committing, failed = TransactionMetaData(), TransactionMetaData()
    blob_storage.tpc_begin(committing)
    oid = store_blob(blob_storage, committing, b"the committing transaction's bytes")
    blob_storage.tpc_abort(failed)  # one that lost a conflict, cleaning up meanwhile
    blob_storage.tpc_vote(committing)
    tid = blob_storage.tpc_finish(committing)
    # ZODB's BlobStorage alone deletes this file: a committed record without its bytes.
    with open(blob_storage.loadBlob(oid, tid), "rb") as f:
        assert f.read() == b"the committing transaction's bytes"


def test_an_aborted_transaction_still_removes_its_own_blobs(blob_storage):
    guard_blob_aborts(blob_storage)
    txn = TransactionMetaData()
    blob_storage.tpc_begin(txn)
    oid = store_blob(blob_storage, txn, b"bytes that never commit")
    directory = blob_storage.fshelper.getPathForOID(oid)
    assert len(os.listdir(directory)) == 1
    blob_storage.tpc_abort(txn)
    assert os.listdir(directory) == []
