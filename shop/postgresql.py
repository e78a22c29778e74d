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
import logging
import select
import threading
from dataclasses import dataclass
from typing import Hashable, Iterator

log = logging.getLogger(__name__)

CHANNEL = "localshop_commits"
TRIGGER = "localshop_commits"
# Serializes the processes starting at once that would make the trigger (any constant: the
# advisory locks of download claims are keyed by a hash, never this small a number).
TRIGGER_LOCK = 0x10C5
# What PostgreSQL may take to answer a connection or a check, in seconds.
CONNECT_TIMEOUT = 5
# The listening connection is checked this often while no notification arrives, so a
# connection the network lost is noticed (and replays stop) within about this time.
CHECK_EVERY = 5.0
RECONNECT_AFTER = 1.0
# TCP keepalives on every connection made here: a server that vanished is noticed.
KEEPALIVES = {"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5,
              "keepalives_count": 3}

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
    """The commits of every process, as notified: ``token()`` changes at each, with no round
    trip. A token taken while not listening equals no other (nothing is replayed on it)."""

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._count = 0  # written by the listening thread only
        self._listening = False
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
        return self._listening

    def token(self) -> Hashable:
        if not self._listening:
            return object()
        return self._count

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
                cursor.execute(f"LISTEN {CHANNEL}")
                self._count += 1
                self._listening = True
                if not self._ready.is_set():
                    log.info("Listening for the commits of every process on the database")
                self._ready.set()
                while not self._stop.is_set():
                    if not select.select([conn], [], [], CHECK_EVERY)[0]:
                        cursor.execute("SELECT 1")  # quiet for long: is the server there?
                    conn.poll()
                    if conn.notifies:
                        conn.notifies.clear()
                        self._count += 1
        finally:
            conn.close()


@dataclass(frozen=True)
class Claim:
    """A download's claim. ``waited``: another process held it first, so it may have stored
    the file meanwhile. Whatever it says, the holder may fetch the file: when the wait
    passed (or PostgreSQL could not be asked), this process fetches too, and the copy that
    is stored first is kept (``shop.mirror.storing``)."""

    waited: bool


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
        conn, waited = self._take(key)
        try:
            yield Claim(waited=waited)
        finally:
            if conn is not None:
                conn.close()  # the lock ends with the session

    def _take(self, key: Hashable):
        """(the connection holding the lock or None, whether another held it first)."""
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
            return conn, waited
        except Exception as e:  # no claim without the database: this process fetches
            log.warning("download claim of %r unavailable (%s): fetching without one",
                        key, str(e).strip())
            if conn is not None:
                conn.close()
            return None, waited

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
        yield Claim(waited=False)


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
    services.claims = Claims(dsn, wait=read_timeout)
    try:
        ensure_trigger(dsn)
    except Exception as e:
        log.warning("Cannot make the commit trigger on object_state (%s): pages are not"
                    " replayed. Have the database's owner run localshop once, or grant this"
                    " role TRIGGER on object_state.", str(e).strip())
        return
    services.changes = Changes(dsn).start()
