"""shop/postgresql.py against a real PostgreSQL: the commit notices and the download claims,
driven directly (the processes that use them: tests/e2e/test_postgresql.py)."""
from __future__ import annotations

import socket
import threading
import time

import pytest

psycopg2 = pytest.importorskip("psycopg2", reason="localshop[postgresql] is not installed")

from shop.postgresql import CHANNEL, STALE_AFTER, Changes, Claims
from tests.e2e.postgres import PASSWORD

pytestmark = pytest.mark.e2e


@pytest.fixture
def dsn(postgres):
    database, role = postgres.database()
    return (f"dbname='{database}' user='{role}' password='{PASSWORD}' host='127.0.0.1'"
            f" port='{postgres.port}'")


def notify(dsn: str) -> None:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cursor:
        cursor.execute(f"NOTIFY {CHANNEL}")
    conn.close()


def eventually(check, seconds: float = 10.0):
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline
        time.sleep(0.02)


def test_the_token_moves_with_every_notice_and_means_nothing_while_not_listening(
        dsn, postgres):
    changes = Changes(dsn).start()
    try:
        assert changes.listening and changes.token() == changes.token()
        before = changes.token()
        notify(dsn)
        eventually(lambda: changes.token() != before)
        # The listening connection is cut (a restarted server, a network fault): until it is
        # back, no two tokens are equal, so nothing is replayed on them.
        postgres.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                      " WHERE application_name = 'localshop-changes'")
        eventually(lambda: not changes.listening)
        assert changes.token() != changes.token()
        eventually(lambda: changes.listening)  # it listens again by itself
        assert changes.token() == changes.token() != before
        # This process's own commit counts at once, before PostgreSQL's notice of it.
        before = changes.token()
        changes.committed_here()
        assert changes.token() != before
    finally:
        changes.close()


class Freezer:
    """A TCP relay to PostgreSQL that can stop passing bytes on (a hung server, a network
    that drops everything) without closing anything."""

    def __init__(self, port: int) -> None:
        self.frozen = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._target = port
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self._target))
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                while self.frozen.is_set():
                    time.sleep(0.05)
                sink.sendall(data)
        except OSError:
            pass

    def close(self) -> None:
        self._listener.close()


def test_a_listening_connection_that_stops_answering_stops_the_replays(dsn, postgres):
    freezer = Freezer(postgres.port)
    changes = Changes(dsn.replace(f"port='{postgres.port}'", f"port='{freezer.port}'")).start()
    try:
        assert changes.listening
        before = changes.token()
        freezer.frozen.set()
        notify(dsn)  # a commit whose notice cannot arrive
        eventually(lambda: not changes.listening, STALE_AFTER + 5)
        assert changes.token() != changes.token()
        freezer.frozen.clear()
        eventually(lambda: changes.listening, 30)
        assert changes.token() == changes.token() != before
    finally:
        changes.close()
        freezer.close()


def test_a_claim_held_elsewhere_is_waited_for_and_one_whose_session_died_is_free(dsn, postgres):
    claims = Claims(dsn, wait=30)
    key = ("default", "demo", "1.0", "demo-1.0-py3-none-any.whl")
    held, released = threading.Event(), threading.Event()

    def holder():
        with claims.hold(key) as claim:
            assert not claim.waited
            held.set()
            released.wait(10)

    thread = threading.Thread(target=holder)
    thread.start()
    held.wait(10)
    began = time.monotonic()
    threading.Timer(0.5, released.set).start()
    with claims.hold(key) as claim:  # waits for the holder, then has it
        assert claim.waited and 0.4 < time.monotonic() - began < 10
    thread.join(10)
    with claims.hold(key) as claim:
        assert not claim.waited
    # A holder whose session dies (its process killed) leaves the lock free at once.
    held.clear()
    released.clear()
    thread = threading.Thread(target=holder)
    thread.start()
    held.wait(10)
    postgres.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                  " WHERE application_name = 'localshop-claim'")
    began = time.monotonic()
    with claims.hold(key) as claim:
        assert time.monotonic() - began < 5
    released.set()
    thread.join(10)


def test_a_wait_past_its_limit_gives_up(dsn):
    claims, patient = Claims(dsn, wait=30), Claims(dsn, wait=0.5)
    key = ("default", "demo", "1.0", "demo-1.0.tar.gz")
    with claims.hold(key):
        began = time.monotonic()
        with patient.hold(key) as claim:
            assert claim.waited and time.monotonic() - began < 5


def test_without_an_answer_from_postgresql_the_download_goes_on_without_a_claim():
    from tests.e2e.server import free_port

    nobody = f"dbname='x' user='x' password='x' host='127.0.0.1' port='{free_port()}'"
    with Claims(nobody, wait=30).hold(("default", "demo", "1.0", "demo.whl")) as claim:
        assert not claim.waited
