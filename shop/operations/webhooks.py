"""Delivering webhooks: the queue in the database (``shop.model.webhooks``) posted to receivers.

One thread per server process looks at the queue whenever the database changed (a commit,
here or in another process sharing it), when a retry is due, and every few seconds anyway. Each round it claims a few
due deliveries in a committed transaction (two processes claiming one: the second gets a
ConflictError and leaves it), lets go of its connection, posts them (a short timeout, no
redirects, little of the answer read), and records the outcomes in another transaction.
A process that stops between posting and recording leaves the delivery claimed: the claim
ends after ``CLAIM`` seconds and it is sent again. Deliveries are at least once; receivers
dedupe on ``X-Localshop-Delivery``.
"""
from __future__ import annotations

import atexit
import logging
import math
import secrets
import socket
import threading
import time
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial

import requests
import requests.adapters
import transaction
from ZODB.POSException import ConflictError

from shop.model import webhooks
from shop.model.root import app_root
from shop.version import __version__

log = logging.getLogger(__name__)

SENDERS = 4  # deliveries posted at once by one process (claimed together)
TIMEOUT = (5.0, 10.0)  # seconds to connect, and between bytes of the answer
# Seconds a whole send may take: the timeouts above bound each wait, not a receiver that
# trickles its answer a byte at a time. Below the claim's CLAIM, so that no other process
# sends a delivery while this one still may.
DEADLINE = 30.0
ANSWER_BYTES = 1024  # of a refusal's body, kept for the error shown
POLL = 0.5  # seconds between looks at whether the database changed
LOOK = 5.0  # seconds between looks at the queue all the same (RelStorage tells of no commit)
RECORD_ATTEMPTS = 5


@dataclass(frozen=True)
class Job:
    """A claimed delivery, with what sending it needs (read before the connection is closed)."""

    delivery: str
    hook: str
    kind: str
    url: str
    secret: str
    body: bytes

    def headers(self) -> dict[str, str]:
        return {"Content-Type": "application/json",
                "User-Agent": f"localshop-webhooks/{__version__}",
                "X-Localshop-Event": self.kind, "X-Localshop-Delivery": self.delivery,
                "X-Localshop-Hook": self.hook,
                webhooks.SIGNATURE_HEADER: webhooks.signature(self.secret, self.body)}


@dataclass(frozen=True)
class Sent:
    delivery: str
    status: int | None
    error: str

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def post(job: Job, deadline: float = DEADLINE) -> Sent:
    """POST the job's body, all of it done within ``deadline`` seconds (a watchdog cuts the
    connection then); never raises (what went wrong is the error)."""
    adapter = Watched()
    with requests.Session() as session:
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        watchdog = threading.Timer(deadline, adapter.cut)
        watchdog.daemon = True
        watchdog.start()
        try:
            with session.post(job.url, data=job.body, headers=job.headers(), timeout=TIMEOUT,
                              allow_redirects=False, stream=True) as answer:
                if 200 <= answer.status_code < 300:
                    return Sent(job.delivery, answer.status_code, "")
                text = answer.raw.read(ANSWER_BYTES, decode_content=False).decode("utf-8", "replace")
                return Sent(job.delivery, answer.status_code,
                            f"HTTP {answer.status_code} {answer.reason or ''}: {text}".strip(": "))
        except Exception as e:  # refused, timed out, TLS, a bad answer: tried again later
            if adapter.was_cut:
                return Sent(job.delivery, None, f"no whole answer within {deadline:g} s")
            return Sent(job.delivery, None, reason(e))
        finally:
            watchdog.cancel()


class Watched(requests.adapters.HTTPAdapter):
    """requests' adapter, keeping the connections it opens so that a watchdog can cut them
    (``cut``): a socket shut down from another thread ends the read blocked on it at once."""

    def __init__(self) -> None:
        super().__init__(max_retries=0)
        self._connections: list = []
        self.was_cut = False

    def get_connection_with_tls_context(self, *args, **kwargs):
        pool = super().get_connection_with_tls_context(*args, **kwargs)
        if not getattr(pool, "_shop_watched", False):
            new_conn = pool._new_conn

            def watched_connection():
                connection = new_conn()
                self._connections.append(connection)
                return connection

            pool._new_conn, pool._shop_watched = watched_connection, True
        return pool

    def cut(self) -> None:
        self.was_cut = True
        for connection in self._connections:
            sock = getattr(connection, "sock", None)
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:  # closed already
                    pass


def reason(error: Exception) -> str:
    """What went wrong, short: requests' own messages repeat the whole URL, twice."""
    if isinstance(error, requests.Timeout):
        return "no answer within the timeout"
    if isinstance(error, requests.ConnectionError):
        inner = error.args[0] if error.args else error
        inner = getattr(inner, "reason", inner)  # urllib3's MaxRetryError: the connection's
        return "could not connect: " + str(inner).rpartition("): ")[2][:200]
    return f"{type(error).__name__}: {error}"[:300]


class Deliverer:
    """The process's webhook deliveries: ``run_once`` does one round, the thread keeps at it."""

    def __init__(self, db, *, senders: int = SENDERS, poll: float = POLL,
                 deadline: float = DEADLINE) -> None:
        self._db = weakref.ref(db)  # the thread ends with the database (tests make many)
        self.deadline = deadline
        self.claimant = secrets.token_hex(8)  # this process, as its claims name it
        self.senders = senders
        self.poll = poll
        self._pool = ThreadPoolExecutor(senders, thread_name_prefix="webhook")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="webhooks")

    def start(self) -> "Deliverer":
        self._thread.start()
        return self

    def stop(self, patience: float = 5.0) -> None:
        """Stop the thread, letting a round in progress record its outcomes for a while."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(patience)

    def run_once(self, now: float | None = None) -> list[Sent]:
        """Claim the due deliveries (a few), post them, record how it went."""
        db = self._db()
        if db is None:
            return []
        jobs = self._claim(db, time.time() if now is None else now)
        if not jobs:
            return []
        sent = list(self._pool.map(partial(post, deadline=self.deadline), jobs))
        # The outcome's time is when the posts ended (a slow receiver's back-off counts from
        # then, not from the claim), unless the caller keeps the clock (``now``).
        self._record(db, sent, time.time() if now is None else now)
        return sent

    def _claim(self, db, now: float) -> list[Job]:
        tm = transaction.TransactionManager()
        conn = db.open(transaction_manager=tm)
        try:
            with tm:
                root = app_root(conn)
                return self._claim_in(root, now)
        except ConflictError:  # another process claimed one of them: the next round
            return []
        finally:
            conn.close()

    def _claim_in(self, root, now: float) -> list[Job]:
        queue = root.webhooks
        jobs = []
        for delivery in webhooks.due(queue, now, self.senders) if queue is not None else ():
            hook = webhooks.hook_of(root, delivery)
            if hook is None:  # removed meanwhile (remove_hook drops its deliveries too)
                queue.remove(delivery.__name__)
                continue
            webhooks.claim(delivery, self.claimant, now)
            jobs.append(Job(delivery.__name__, hook.__name__, delivery.kind, hook.url,
                            hook.secret, delivery.body))
        return jobs

    def _record(self, db, sent: list[Sent], now: float) -> None:
        for attempt in range(RECORD_ATTEMPTS):
            tm = transaction.TransactionManager()
            conn = db.open(transaction_manager=tm)
            try:
                with tm:
                    _record_in(app_root(conn), sent, now)
                return
            except ConflictError:
                time.sleep(0.05 * 2 ** attempt)
            finally:
                conn.close()
        log.warning("webhooks: could not record %d outcomes (conflicts); they are sent again"
                    " once their claims end", len(sent))

    def next_due(self) -> float | None:
        """When the queue has a delivery due next (None: empty)."""
        db = self._db()
        if db is None:
            return None
        tm = transaction.TransactionManager()
        conn = db.open(transaction_manager=tm)
        try:
            return webhooks.next_due(app_root(conn).webhooks)
        finally:
            tm.abort()
            conn.close()

    def _loop(self) -> None:
        seen, due = None, 0.0
        while not self._stop.wait(self.poll):
            db = self._db()
            last = _last_transaction(db)
            if last is None:  # the database is gone or closed
                return
            if last == seen and time.time() < due:
                continue
            try:
                while self.run_once() and not self._stop.is_set():
                    pass
                seen, due = _last_transaction(db), min(self.next_due() or math.inf,
                                                       time.time() + LOOK)
            except Exception:  # the next change or poll tries again; the server keeps serving
                if not threading.main_thread().is_alive():  # the process is exiting
                    return
                log.exception("webhooks: a delivery round failed")
                seen, due = last, time.time() + LOOK
            del db


def _record_in(root, sent: list[Sent], now: float) -> None:
    for outcome in sent:
        delivery = root.webhooks.get(outcome.delivery) if root.webhooks is not None else None
        if delivery is None:  # its hook was removed meanwhile
            continue
        if outcome.ok:
            webhooks.delivered(root, delivery, outcome.status, now)
        else:
            webhooks.failed(root, delivery, outcome.status, outcome.error, now)
            log.info("webhooks: delivery %s to hook %s failed (%s)", outcome.delivery,
                     delivery.hook, outcome.error)


def _last_transaction(db) -> bytes | None:
    """The id of the database's last transaction; None when it is gone or closed."""
    try:
        return db.lastTransaction() if db is not None else None
    except AttributeError:  # DB.close() removed its storage
        return None


def includeme(config) -> None:
    """The process's deliverer (``request.shop.webhooks``), stopped at exit before the database
    is closed (``shop.storage`` registered that earlier; exit handlers run last first)."""
    services = config.registry.shop
    services.webhooks = Deliverer(services.db).start()
    deliverer = weakref.ref(services.webhooks)  # held weakly: tests make many applications
    atexit.register(lambda: deliverer() is not None and deliverer().stop())
