"""The database's life cycle: opening it (or finding the one pyramid_zodbconn opened), guarding
it against a ZODB bug, having what a crash left beside the blobs cleared (``shop.scratch``),
creating the tree on first start, and closing it at exit."""
from __future__ import annotations

import atexit
import contextlib
import importlib
import logging
import os
import random
import signal
import sys
import threading
import time
import weakref
from typing import Callable, Iterator
from urllib.parse import parse_qsl, unquote, urlsplit

import transaction
from pyramid_retry import BeforeRetry
from zc.lockfile import LockError
from ZODB import DB
from ZODB.blob import BlobStorage
from ZODB.broken import find_global
from ZODB.POSException import ConflictError
from zodburi import resolve_uri

from shop.access.accounts import admin_password_ignored, ensure_admin
from shop.access.passwords import Passwords
from shop.model.root import DEFAULT_REPOSITORY, Root, app_root
from shop.model.bootstrap import bootstrap, ensure_stats, ensure_stored_counts
from shop.scratch import remove_leftovers, remove_unstored_blobs
from shop.settings import Settings, ensure_storage_dirs

log = logging.getLogger(__name__)


class DatabaseBusy(RuntimeError):
    """The embedded database is held by another process (usually the running server)."""


class DatabaseMissing(RuntimeError):
    """A command that only reads found no database: the server never started here."""


def read_only_uri(uri: str) -> str:
    """The URI of the same embedded FileStorage opened read-only: that takes no lock, so it
    reads beside the running server. Other storages (ZEO, RelStorage) as they are."""
    parts = urlsplit(uri)
    if parts.scheme != "file":
        return uri
    path = unquote(parts.path)
    if not os.path.exists(path):
        raise DatabaseMissing(f"There is no database at {path} yet: start the server (or run a"
                              " command that writes, such as 'user add') to create it.")
    return uri + ("&" if parts.query else "?") + "read_only=1"


def open_database(uri: str, writes: bool = True) -> DB:
    """Open the database a zodburi URI names; say plainly when a server holds it.

    ``writes=False`` (commands that only read) opens an embedded FileStorage read-only and
    leaves everything beside it as it is: a running server may be writing there.
    """
    if not writes:
        return _open(read_only_uri(uri), uri)
    ensure_storage_dirs(uri)
    db = _open(uri, uri)
    remove_unstored_blobs(db.storage)  # the server may have crashed; a command may run first
    remove_leftovers(db)
    return db


def _open(uri: str, shown: str) -> DB:
    factory, dbkw = resolve_uri(uri)
    try:
        storage = factory()
    except LockError:
        raise database_busy(shown) from None
    guard_blob_aborts(storage)
    return DB(storage, class_factory=moved_class_factory, **dbkw)


def database_busy(uri: str) -> DatabaseBusy:
    """The error for an embedded database whose lock another process holds."""
    return DatabaseBusy(
        "Cannot open the database: another process (the running localshop server?) holds "
        f"its lock ({uri.split('?')[0]}). Stop the server first, or serve the database "
        "with ZEO and point zodbconn.uri at zeo://... so several processes can share it."
    )


# PostgreSQL's codes of the errors two processes get making one table, type or index at once.
SCHEMA_RACES = {"23505", "42P07", "42710"}  # unique_violation, duplicate_table, duplicate_object
# Storages that several processes open at once.
SHARED_SCHEMES = ("postgres", "mysql", "zeo")


def prepare_database(uri: str, attempts: int = 5) -> None:
    """Have a new shared database made (RelStorage's tables, ZODB's root object) before the
    application opens it.

    Processes started at once on a new database race to make them: RelStorage's losers fail
    with a duplicate table or type, and ZODB's (``DB()`` makes the root in a transaction of
    its own) with a conflict. Here the database is opened and closed once, trying again,
    after a pause, while that is why it failed. The embedded FileStorage is left alone."""
    if urlsplit(uri).scheme not in SHARED_SCHEMES:
        return
    for attempt in range(1, attempts + 1):
        try:
            factory, _ = resolve_uri(uri)
            DB(factory()).close()
            return
        except Exception as e:
            race = isinstance(e, ConflictError) or getattr(e, "pgcode", None) in SCHEMA_RACES
            if not race or attempt == attempts:
                raise
            log.info("Another process is making the new database: trying again")
            time.sleep(random.uniform(0.1, 0.5))


def database(registry) -> DB:
    """The database of an application (pyramid_zodbconn's, named by ``zodbconn.uri``)."""
    return databases(registry)[0]


def databases(registry) -> list[DB]:
    """Every database pyramid_zodbconn opened for the application, the main one first."""
    # pyramid_zodbconn keeps them in a private attribute: this is the one place that reads it.
    found = registry._zodb_databases
    return [found[""], *(db for name, db in found.items() if name != "")]


def temporary_directory(db: DB) -> str:
    """The blob storage's own temporary directory: a file written there becomes a blob by a
    rename (``consumeFile``), not a copy."""
    return db.storage.temporaryDirectory()


class StorageUnavailable(Exception):
    """The database's storage does not answer; the message says how it failed."""


def ping(db: DB) -> None:
    """Have a ZEO client ask its server (its cache answers reads without it); raise
    StorageUnavailable when it is cut off. Other storages answer a connection's first read
    themselves (RelStorage polls its database as a connection opens). It may block for as
    long as the storage waits for its server: callers bound it."""
    storage = db.storage
    connected = getattr(storage, "is_connected", None)  # ZEO's ClientStorage
    if connected is not None and not connected():
        raise StorageUnavailable("the ZEO client is not connected to its server")
    status = getattr(storage, "server_status", None)
    if status is not None:
        status()  # a round trip to the ZEO server


# Classes whose module changed since databases were written with them; ZODB finds a class by
# its module and name in every record, so records written before a move name the old module.
MOVED_MODULES = {
    "shop.resources": ("shop.model.tree", "shop.model.root", "shop.model.people",
                       "shop.model.folders"),
    "shop.model.tree": ("shop.model.root",),  # Root and Repositories, since issue 14
}


def moved_class_factory(connection, module: str, name: str):
    """ZODB's class look-up (``DB.classFactory``), also under the modules classes moved to."""
    for new_module in MOVED_MODULES.get(module, ()):
        found = getattr(importlib.import_module(new_module), name, None)
        if found is not None:
            return found
    return find_global(module, name)


def read_moved_classes(db: DB) -> None:
    """Let a database opened elsewhere (pyramid_zodbconn's) load records naming moved classes."""
    db.classFactory = moved_class_factory
    # Connections made already (DB() makes one for the root) read with the old look-up: a
    # pool of size 0 lets go of them and their storage views, then new ones are made.
    size = db.getPoolSize()
    db.setPoolSize(0)
    db.setPoolSize(size)


# Connections opened outside requests, beside one per waitress thread: the mirror's storing
# slots (shop.mirror.storing.STORING_AT_ONCE, 4: files and .metadata being stored, pages
# rendered ahead), the webhooks' deliverer (one at a time), plus a margin.
BACKGROUND_CONNECTIONS = 6


def size_pools(registry, threads: int) -> int | None:
    """Size each database's connection pool for ``threads`` request threads and the
    background work, unless its URI sets ``connection_pool_size``; the size chosen, or None.

    ZODB's default of 7 is less than waitress's threads in the shipped inis: every request
    past it logs "DB.open() has N open connections with a pool_size of 7", and the
    connection (and its object cache) is thrown away after the request.
    """
    size = threads + BACKGROUND_CONNECTIONS
    chosen = None
    settings = registry.settings
    for db in databases(registry):
        name = db.database_name
        uri = settings.get(f"zodbconn.uri.{name}" if name else "zodbconn.uri", "")
        query = dict(parse_qsl(uri.partition("?")[2]))
        if "connection_pool_size" in query:  # the user's choice stands
            continue
        db.setPoolSize(size)
        chosen = size
    if chosen is not None:
        log.info("Connection pool size %d: %d request threads and %d for background work",
                 size, threads, BACKGROUND_CONNECTIONS)
    return chosen


def guard_blob_aborts(storage) -> None:
    """Keep a failed commit from deleting the blob files of the commit that follows it.

    A ``file://...?blobstorage_dir=`` URI wraps the FileStorage in ZODB's ``BlobStorage``,
    whose ``tpc_abort`` first lets the FileStorage abort, which releases the commit lock, and
    then deletes the blob files stored "by this transaction": by then the next transaction
    may hold the lock and have stored its own, and those are deleted. It then commits
    records whose files are gone (concurrent uploads lost files this way). Here an aborting
    transaction deletes its blob files while it still holds the lock, and a transaction that
    does not hold it deletes none. Other storages are left as they are.
    """
    if not isinstance(storage, BlobStorage) or "tpc_abort" in vars(storage):
        return
    base = storage._BlobStorage__storage  # the proxied storage (ZODB keeps it name-mangled)

    def tpc_abort(transaction) -> None:
        if base.tpc_transaction() is transaction:
            storage._blob_tpc_abort()
        base.tpc_abort(transaction)

    storage.tpc_abort = tpc_abort


@contextlib.contextmanager
def read_transaction(db: DB) -> Iterator[Root]:
    """The application root in a connection of its own, for reading: always aborted."""
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    try:
        tm.begin()
        try:
            root = app_root(conn)
        except KeyError:
            raise DatabaseMissing("The database holds no localshop tree yet: start the server"
                                  " once to create it.") from None
        yield root
    finally:
        tm.abort()
        conn.close()


@contextlib.contextmanager
def root_transaction(db: DB) -> Iterator[Root]:
    """The application root in a connection of its own, outside any request.

    The transaction commits when the block ends and aborts if it raises.
    """
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    try:
        with tm:
            yield app_root(conn)
    finally:
        conn.close()


RULE = "=" * 78
# Tries of the first start's transaction (a conflict with another process starting at once).
START_ATTEMPTS = 5


def initialize(db: DB, settings: Settings, passwords: Passwords) -> None:
    """Create the tree and the first admin account on first start; log a generated password.

    Processes started at once on a new shared database (ZEO, RelStorage) all try to create
    the tree: all but one conflict, and try again, and find it made."""
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    try:
        for attempt in tm.attempts(START_ATTEMPTS):
            with attempt:
                root, created = bootstrap(
                    conn.root(), settings.upstream,
                    anonymous_read=settings.default_anonymous_read,
                    read_networks=settings.default_read_networks,
                )
                default = root.repositories.get(DEFAULT_REPOSITORY)
                if default is not None and default.upstream != settings.upstream:
                    default.upstream = settings.upstream  # the ini's shop.upstream is the truth
                ignored = admin_password_ignored(root, settings.admin_password, passwords=passwords)
                generated = ensure_admin(root, settings.admin_password, passwords=passwords)
                if ensure_stats(root):
                    log.info("Added the dashboard's history to the database")
                for repository in root.repositories.values():
                    if ensure_stored_counts(repository):
                        log.info("Counted the stored files of repository %r", repository.__name__)
    finally:
        conn.close()
    if created:
        log.info("Created a new localshop database with repository 'default'")
    if generated:
        # Framed, so that it stands out of the start-up lines: it is shown this once.
        log.warning("\n%s\n  Created account 'admin' with password: %s\n  (shown once; change "
                    "it with: localshop -c INI user passwd admin)\n%s", RULE, generated, RULE)
    if ignored:
        log.warning("LOCALSHOP_ADMIN_PASSWORD is ignored: it sets the password of 'admin' only "
                    "when the account is first created, and 'admin' exists with another "
                    "password. Change it with: localshop -c INI user passwd admin")


def close_at_exit(databases: list[DB], busy: Callable[[], bool] = lambda: False,
                  patience: float = 5.0) -> None:
    """Close the databases when the process ends, so FileStorage saves its index.

    Without this a stopped server leaves an outdated ``Data.fs.index`` and the next start
    re-reads the whole file. pserve exits normally on Ctrl-C; SIGTERM (systemd, docker stop)
    is turned into a normal exit too, unless the process already handles it. Work that
    ``busy()`` reports (mirrored files whose clients are served, being stored) may finish
    first, for up to ``patience`` seconds.
    """
    refs = [weakref.ref(db) for db in databases]

    def close() -> None:
        deadline = time.monotonic() + patience
        while busy() and time.monotonic() < deadline:
            time.sleep(0.05)
        if busy():
            log.warning("closing the database with mirrored files still being stored")
        for ref in refs:
            db = ref()
            if db is not None:
                try:
                    db.close()
                except Exception:  # closing at exit must never mask how the process ended
                    log.exception("closing the database at exit")

    atexit.register(close)
    if (threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL):
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))


def back_off(event) -> None:
    """Wait a little, at random, before a retry: writers that collided once (uploads to one
    project) would otherwise collide again at once."""
    attempt = event.environ.get("retry.attempt", 0) + 1
    time.sleep(random.uniform(0, 0.02 * 2**attempt))


def includeme(config) -> None:
    """The database pyramid_zodbconn opened: its pools sized for the threads, guarded, read
    with moved classes, cleared of the temporary files a crash left, the tree made on first
    start, closed at exit once mirrored files already served are stored; requests that lost
    a conflict retried after a pause."""
    config.add_subscriber(back_off, BeforeRetry)
    services = config.registry.shop
    services.db = db = database(config.registry)
    size_pools(config.registry, services.threads)
    guard_blob_aborts(db.storage)
    read_moved_classes(db)
    remove_unstored_blobs(db.storage)
    remove_leftovers(db)
    initialize(db, services.settings, services.passwords)
    busy = weakref.WeakMethod(services.busy)  # held weakly: tests make many applications

    def storing() -> bool:
        check = busy()
        return check is not None and check()

    close_at_exit(databases(config.registry), storing)
