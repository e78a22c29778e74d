"""RelStorage on PostgreSQL: what the processes on one database share beyond RelStorage itself.

RelStorage gives every process the same tree; each ZODB connection polls the database for
changes as its transaction begins. Two things here use PostgreSQL's own machinery, on
connections of their own (psycopg2, the driver RelStorage uses, in autocommit):

- ``Changes``: a statement trigger on RelStorage's ``object_state`` table (every commit
  writes it, whoever commits: a server process, the command line, ``zodbconvert``) sends a
  ``NOTIFY`` on channel ``localshop_commits``, which PostgreSQL delivers only once that
  transaction has committed. One thread per process ``LISTEN``s and counts them, so the
  replay of anonymous pages (``shop.pages.replay``) knows of every commit without a round
  trip per request. While it is not listening (the connection dropped, or the trigger could
  not be made) nothing is replayed.
- ``Claims``: the first download of a mirrored file takes a session advisory lock named by
  the file; a process that finds it held waits for it (then serves the copy the other
  stored) instead of fetching the same bytes from upstream again. The lock dies with its
  session: a killed process leaves no claim behind.

Anything else (FileStorage, ZEO) has neither: ``includeme`` leaves both unset.
"""
from __future__ import annotations

import contextlib
import hashlib
import itertools
import logging
import math
import secrets
import select
import threading
import time
from typing import Hashable, Iterator

log = logging.getLogger(__name__)

CHANNEL = "localshop_commits"
TRIGGER = "localshop_commits"
# Serializes the processes starting at once that would make the trigger (any constant: the
# advisory locks of download claims are keyed by a hash, never this small a number).
TRIGGER_LOCK = 0x10C5
# What PostgreSQL may take to answer a connection or a check, in seconds.
CONNECT_TIMEOUT = 5
# The listening connection proves itself this often while no notice arrives (a NOTIFY to
# itself); one that has not for STALE_AFTER seconds is taken as lost: nothing is replayed.
CHECK_EVERY = 2.0
STALE_AFTER = 2 * CHECK_EVERY + 1
RECONNECT_AFTER = 1.0
# Seconds a process waits for another's download of a file before it fetches its own: its
# clients get no byte meanwhile, and pip gives up on a silent server after 15 s.
CLAIM_WAIT = 10.0
# TCP keepalives on every connection made here: a server that vanished is noticed.
# tcp_user_timeout: unacknowledged bytes (a network that drops everything) end the
# connection after 15 s, where the kernel would retransmit for a quarter of an hour.
KEEPALIVES = {"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5,
              "keepalives_count": 3, "tcp_user_timeout": 15000}

MAKE_TRIGGER = f"""
CREATE OR REPLACE FUNCTION {TRIGGER}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('{CHANNEL}', '');
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER {TRIGGER} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON object_state FOR EACH STATEMENT EXECUTE FUNCTION {TRIGGER}();
"""


def dsn_of(storage) -> str | None:
    """The libpq DSN of a RelStorage on PostgreSQL (its adapter's), else None."""
    adapter = getattr(storage, "_adapter", None)  # RelStorage keeps it private: read here only
    if adapter is None or type(adapter).__name__ != "PostgreSQLAdapter":
        return None
    return adapter._dsn


def connect(dsn: str, purpose: str):
    """A psycopg2 connection in autocommit, named ``localshop-<purpose>`` in
    ``pg_stat_activity``."""
    import psycopg2  # only where RelStorage on PostgreSQL is in use (localshop[postgresql])

    conn = psycopg2.connect(dsn, connect_timeout=CONNECT_TIMEOUT,
                            application_name=f"localshop-{purpose}", **KEEPALIVES)
    conn.autocommit = True
    return conn


def ensure_trigger(dsn: str) -> None:
    """Make the commit trigger unless it is there; raise psycopg2.Error if that fails."""
    conn = connect(dsn, "trigger")
    try:
        conn.autocommit = False
        with conn, conn.cursor() as cursor:  # one transaction: committed, or rolled back
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", (TRIGGER_LOCK,))
            cursor.execute("SELECT 1 FROM pg_trigger WHERE tgname = %s"
                           " AND tgrelid = to_regclass('object_state')", (TRIGGER,))
            if cursor.fetchone() is None:
                cursor.execute(MAKE_TRIGGER)
                log.info("Made the trigger %s on object_state: every commit is notified to"
                         " the processes on this database", TRIGGER)
    finally:
        conn.close()


class Changes:
    """The commits of every process, as notified, and this process's own: ``token()``
    changes at each, with no round trip. A token taken while not listening, or while the
    listening connection has not proved itself for ``STALE_AFTER`` seconds, equals no
    other (nothing is replayed on it)."""

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._count = 0  # written by the listening thread only
        self._commits = itertools.count(1)  # this process's own commits (any thread's)
        self._local = 0
        self._listening = False
        self._alive_at = -math.inf  # time.monotonic() of the connection's last proof of life
        # A channel of this process alone: a NOTIFY on it that comes back proves the path
        # (a pooler in transaction mode, or a connection the network lost, would not).
        self._probe = f"localshop_probe_{secrets.token_hex(8)}"
        self._ready = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._listen, daemon=True,
                                        name="localshop-changes")

    def start(self, patience: float = 10.0) -> "Changes":
        """Start listening; wait up to ``patience`` seconds for the first ``LISTEN``."""
        self._thread.start()
        if not self._ready.wait(patience):
            log.warning("not listening for commits yet: pages are not replayed until then")
        return self

    def close(self) -> None:
        self._stop.set()

    @property
    def listening(self) -> bool:
        return self._listening and time.monotonic() - self._alive_at < STALE_AFTER

    def committed_here(self) -> None:
        """A commit of this process is done: its next requests see it (before PostgreSQL's
        notice of it arrives)."""
        self._local = next(self._commits)

    def token(self) -> Hashable:
        if not self.listening:
            return object()
        return self._count, self._local

    def _listen(self) -> None:
        while not self._stop.is_set():
            try:
                self._follow(connect(self._dsn, "changes"))
            except Exception as e:  # the server went away, or refused us: try again
                if self._listening or not self._ready.is_set():
                    log.warning("not listening for commits (%s: %s): pages are not"
                                " replayed until the connection is back",
                                type(e).__name__, str(e).strip())
            finally:
                self._listening = False
                self._count += 1  # commits may have gone unnoticed meanwhile
                self._ready.set()
            self._stop.wait(RECONNECT_AFTER)

    def _follow(self, conn) -> None:
        try:
            with conn.cursor() as cursor:
                cursor.execute(f"LISTEN {CHANNEL}; LISTEN {self._probe}")
                self._count += 1
                self._alive_at = time.monotonic()
                self._listening = True
                if not self._ready.is_set():
                    log.info("Listening for the commits of every process on the database")
                self._ready.set()
                while not self._stop.is_set():
                    if not select.select([conn], [], [], CHECK_EVERY)[0]:
                        cursor.execute(f"NOTIFY {self._probe}")  # quiet: is the path there?
                    conn.poll()
                    self._take(conn.notifies)
        finally:
            conn.close()

    def _take(self, notices: list) -> None:
        """Count the commits among ``notices``; any notice proves the connection alive."""
        if not notices:
            return
        now = time.monotonic()
        if now - self._alive_at >= STALE_AFTER:
            self._count += 1  # it was stale: what it said meanwhile may be wrong
        if any(notice.channel == CHANNEL for notice in notices):
            self._count += 1
        self._alive_at = now
        notices.clear()


def count_commits(storage, changes: Changes) -> None:
    """Have ``changes`` told of every commit made through ``storage`` in this process.

    RelStorage gives each ZODB connection an instance of its own (``new_instance``), whose
    ``tpc_finish`` ends each commit; each new instance's is wrapped here. (Connections made
    before this are let go by the caller.)"""
    make = storage.new_instance

    def new_instance(*args, **kwargs):
        instance = make(*args, **kwargs)
        finish = instance.tpc_finish

        def tpc_finish(*args, **kwargs):
            result = finish(*args, **kwargs)
            changes.committed_here()
            return result

        instance.tpc_finish = tpc_finish
        return instance

    storage.new_instance = new_instance


class Claim:
    """A download's claim. ``shared``: taken in PostgreSQL, so another process may have
    stored the file before this one had it; ``waited``: another process held it first.
    Whatever it says, the holder may fetch the file: when the wait passed (or PostgreSQL
    could not be asked), this process fetches too, and the copy stored first is kept
    (``shop.mirror.storing``). ``release()`` lets the next waiting process have it at once
    (a process that found the stored copy need not hold the others while it reads it)."""

    def __init__(self, waited: bool = False, shared: bool = False, conn=None) -> None:
        self.waited, self.shared = waited, shared
        self._conn = conn

    def release(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            conn.close()  # the lock ends with the session


def claim_key(key: Hashable) -> int:
    """The advisory lock's 64-bit key for ``key`` (a file's repository, project, release,
    filename)."""
    digest = hashlib.blake2b(repr(key).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class Claims:
    """Download claims shared by the processes on one database: session advisory locks."""

    def __init__(self, dsn: str, wait: float) -> None:
        self._dsn = dsn
        self.wait = wait  # seconds a process waits for another's download before its own

    @contextlib.contextmanager
    def hold(self, key: Hashable) -> Iterator[Claim]:
        """Claim ``key`` for the block, after waiting (up to ``wait``) for another's claim.
        Never raises: without PostgreSQL's answer this process fetches without a claim."""
        claim = self._take(key)
        try:
            yield claim
        finally:
            claim.release()

    def _take(self, key: Hashable) -> Claim:
        conn, waited = None, False
        try:
            conn = connect(self._dsn, "claim")
            with conn.cursor() as cursor:
                lock = claim_key(key)
                cursor.execute("SELECT pg_try_advisory_lock(%s)", (lock,))
                waited = not cursor.fetchone()[0]
                if waited and not self._wait(cursor, lock):
                    log.warning("another process's download of %r took over %.0f s:"
                                " fetching it here too", key, self.wait)
            return Claim(waited=waited, shared=True, conn=conn)
        except Exception as e:  # no claim without the database: this process fetches
            log.warning("download claim of %r unavailable (%s): fetching without one",
                        key, str(e).strip())
            if conn is not None:
                conn.close()
            return Claim(waited=waited)

    def _wait(self, cursor, lock: int) -> bool:
        """Wait for the lock, up to ``wait`` seconds; whether it was had."""
        import psycopg2

        cursor.execute("SET statement_timeout = %s", (max(1, int(self.wait * 1000)),))
        try:
            cursor.execute("SELECT pg_advisory_lock(%s)", (lock,))
        except psycopg2.errors.QueryCanceled:
            return False
        finally:
            cursor.execute("SET statement_timeout = 0")
        return True


class NoClaims:
    """One process alone (or processes that share no PostgreSQL): nobody else to wait for."""

    wait = 0.0

    @contextlib.contextmanager
    def hold(self, key: Hashable) -> Iterator[Claim]:
        yield Claim()


def includeme(config) -> None:
    """On RelStorage on PostgreSQL: the commit notifications (``services.changes``, unless
    the trigger cannot be made) and the download claims (``services.claims``)."""
    services = config.registry.shop
    services.changes = None
    services.claims = NoClaims()
    dsn = dsn_of(services.db.storage)
    if dsn is None:
        return
    connect_timeout, read_timeout = services.settings.upstream_timeout
    services.claims = Claims(dsn, wait=min(CLAIM_WAIT, read_timeout))
    try:
        ensure_trigger(dsn)
    except Exception as e:
        log.warning("Cannot make the commit trigger on object_state (%s): pages are not"
                    " replayed. Have the database's owner run localshop once, or grant this"
                    " role TRIGGER on object_state.", str(e).strip())
        return
    services.changes = Changes(dsn).start()
    db = services.db
    count_commits(db.storage, services.changes)
    size = db.getPoolSize()  # connections made before are let go: new ones count commits
    db.setPoolSize(0)
    db.setPoolSize(size)
