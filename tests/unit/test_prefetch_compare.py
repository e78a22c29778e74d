"""What ``localshop prefetch`` reports per file: stored before the run, stored by it, or not
stored, read from the database now and through a historical connection as it was before."""
from __future__ import annotations

import time

import transaction
import ZODB
from ZODB.FileStorage import FileStorage

from shop.model.bootstrap import bootstrap
from shop.operations.prefetch import PrefetchResult, Target, compare

from tests.trees import add_file

MISSING = "nowhere-1.0-py3-none-any.whl"


def test_files_stored_during_the_run_are_told_from_those_stored_before(db, repository, tm):
    old = add_file(repository, "old", "1.0", origin="mirror")
    tm.commit()
    before = db.lastTransaction()
    new = add_file(repository, "new", "2.0", origin="mirror")
    tm.commit()

    files = compare(db, before, "default", {old.filename: 100, new.filename: 100, MISSING: 7})
    assert [(f.filename, f.stored_before, f.stored_now) for f in files] == [
        (old.filename, True, True), (new.filename, False, True), (MISSING, False, False)]
    summary = PrefetchResult(Target("req.txt"), files, 1.0).summary()
    assert "fetched from upstream and stored: 1 file, 100 bytes" in summary
    assert "already stored:                   1 file, 100 bytes" in summary
    assert f"NOT stored: {MISSING}" in summary


def test_after_a_pack_the_summary_says_it_cannot_tell_what_was_stored_before(tmp_path):
    db = ZODB.DB(FileStorage(str(tmp_path / "Data.fs"), blob_dir=str(tmp_path / "blobs")))
    try:
        tm = transaction.TransactionManager()
        conn = db.open(transaction_manager=tm)
        root, _ = bootstrap(conn.root(), None)
        tm.commit()
        before = db.lastTransaction()
        file = add_file(root.repositories["default"], "new", "2.0", origin="mirror")
        tm.commit()
        time.sleep(0.01)
        db.pack(time.time())  # the state as of ``before`` is gone

        files = compare(db, before, "default", {file.filename: 100})
        assert [(f.stored_before, f.stored_now) for f in files] == [(None, True)]
        summary = PrefetchResult(Target("req.txt"), files, 1.0).summary()
        assert "fetched from upstream and stored: 0 files" in summary
        assert "the storage keeps no history to tell: 1 file, 100 bytes" in summary
        conn.close()
    finally:
        db.close()
