"""The record walk of ``check``: a dangling reference names the missing record and the one that
refers to it; a record whose class is gone is named too."""
from __future__ import annotations

import sys
import types

import transaction
from persistent import Persistent
from persistent.mapping import PersistentMapping
from ZODB import DB
from ZODB.FileStorage import FileStorage
from ZODB.MappingStorage import MappingStorage
from ZODB.utils import oid_repr

from shop.operations.check import Report, check_objects


def committed(db, build) -> None:
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    with tm:
        build(conn.root())
    conn.close()


def checked(db) -> Report:
    report = Report()
    conn = db.open()
    try:
        check_objects(conn, report)
    finally:
        conn.close()
    return report


def test_a_dangling_reference_names_the_missing_record_and_its_referrer():
    storage = MappingStorage()
    db = DB(storage)
    committed(db, lambda root: root.update(a=PersistentMapping(b=PersistentMapping())))
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    a, b = conn.root()["a"]._p_oid, conn.root()["a"]["b"]._p_oid
    conn.close()
    assert checked(db).problems == []

    del storage._data[b]  # the record is gone; a still refers to it

    [problem] = checked(db).problems
    assert problem.where == f"object {oid_repr(b)}"
    assert oid_repr(a) in problem.what and "dangling" in problem.what
    db.close()


def test_a_record_whose_class_cannot_be_imported_is_named(tmp_path):
    path = str(tmp_path / "Data.fs")
    module = types.ModuleType("shop_test_gone_module")
    Thing = type("Thing", (Persistent,), {"__module__": module.__name__})
    module.Thing = Thing
    sys.modules[module.__name__] = module
    db = DB(FileStorage(path))
    try:
        committed(db, lambda root: root.update(thing=Thing()))
    finally:
        del sys.modules[module.__name__]  # as if the code that wrote it were uninstalled
    db.close()
    db = DB(FileStorage(path, read_only=True))

    problems = checked(db).problems

    assert any("shop_test_gone_module.Thing cannot be imported" in str(p) for p in problems), problems
    db.close()
