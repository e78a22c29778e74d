"""Databases written before the modules moved (``shop.resources``) still load."""
from __future__ import annotations

import sys
import types

import pytest
import transaction
import ZODB
import ZODB.DemoStorage
from persistent import Persistent
from ZODB.broken import Broken
from ZODB.FileStorage import FileStorage

from shop.model.people import User
from shop.model.tree import Repository
from shop.storage import (
    database,
    open_database,
    read_moved_classes,
    root_transaction,
)


@pytest.fixture
def old_database(tmp_path):
    """A FileStorage holding a Repository and a User as localshop 2.0.0.dev0 wrote them, where
    the ``make_app`` fixture keeps its database."""
    old = types.ModuleType("shop.resources")
    for name in ("Repository", "User"):
        setattr(old, name, type(name, (Persistent,), {"__module__": "shop.resources"}))
    sys.modules["shop.resources"] = old
    (tmp_path / "var").mkdir()
    path = tmp_path / "var" / "Data.fs"
    try:
        db = ZODB.DB(FileStorage(str(path)))
        with db.transaction() as conn:
            conn.root()["repository"] = old.Repository()
            conn.root()["user"] = old.User()
        db.close()
    finally:
        del sys.modules["shop.resources"]
    return path


def test_records_naming_the_old_module_load_as_the_moved_classes(old_database):
    db = open_database(f"file://{old_database}")
    try:
        conn = db.open(transaction_manager=transaction.TransactionManager())
        assert type(conn.root()["repository"]) is Repository
        assert type(conn.root()["user"]) is User
        conn.close()
    finally:
        db.close()


def test_the_server_loads_them_too(old_database, make_app):
    app = make_app()
    with root_transaction(database(app.app.registry)) as root:
        assert type(root._p_jar.root()["repository"]) is Repository


def test_without_the_mapping_they_would_be_broken(old_database):
    db = ZODB.DB(FileStorage(str(old_database)))
    try:
        conn = db.open(transaction_manager=transaction.TransactionManager())
        assert isinstance(conn.root()["repository"], Broken)
        conn.close()
    finally:
        db.close()


def test_connections_made_before_the_mapping_are_let_go():
    """DB() opens one for the root; kept, it would read without the mapping and its view of
    the storage would collect every later invalidation, unread, for the life of the process."""
    db = ZODB.DB(ZODB.DemoStorage.DemoStorage())
    try:
        assert len(db.pool.all) == 1
        read_moved_classes(db)
        assert len(db.pool.all) == 0 and db.getPoolSize() == 7
    finally:
        db.close()


def test_a_root_written_when_it_lived_in_the_tree_module_loads_as_the_moved_class(tmp_path):
    """``Root`` and ``Repositories`` moved from ``shop.model.tree`` to ``shop.model.root``."""
    import shop.model.tree as tree
    from shop.model.root import Repositories, Root

    path = str(tmp_path / "Data.fs")
    olds = {name: type(name, (Persistent,), {"__module__": "shop.model.tree"})
            for name in ("Root", "Repositories")}
    for name, cls in olds.items():
        setattr(tree, name, cls)
    try:
        db = ZODB.DB(FileStorage(path))
        with db.transaction() as conn:
            conn.root()["root"], conn.root()["repositories"] = olds["Root"](), olds["Repositories"]()
        db.close()
    finally:
        tree.Root = Root  # the name it has there now (imported from shop.model.root)
        del tree.Repositories
    db = open_database(f"file://{path}")
    try:
        conn = db.open(transaction_manager=transaction.TransactionManager())
        assert type(conn.root()["root"]) is Root
        assert type(conn.root()["repositories"]) is Repositories
        conn.close()
    finally:
        db.close()
