"""Answers to anonymous page requests, given again while the database has not changed.

pip and uv ask an open index for the same pages over and over. Everything that decides a
simple page's answer to a client without credentials or cookies — traversal, the security
policy (anonymous read, read networks by address), the view — reads only the request and the
tree. So the answer is kept with the storage's last transaction id and given again, without
Pyramid, a transaction, a ZODB connection or the security policy, to the same request (same
URL, address, Accept and Accept-Encoding) for as long as that id has not moved. Every commit
moves it: this process's own, and another process's through ZEO, whose invalidations reach
the storage before its last transaction id moves. The request after a commit takes the full
path again, and its answer is kept in turn.

Kept are only answers that their view offers (``offer()``: the simple pages), with status
200, to a GET with no Authorization, Cookie, Range or conditional header, made while no
transaction committed. A mirrored project's page also expires when its upstream listing is
due to be checked again. RelStorage pushes no invalidations (each connection polls for them
as its transaction begins): on PostgreSQL the token is instead the count of commits that
PostgreSQL notified to this process (``shop.postgresql.Changes``), and replays stop while it
is not listening; on other databases RelStorage gets no replays.
"""
from __future__ import annotations

import io
import logging
import time
from typing import Callable, Hashable, Iterable, NamedTuple

from ZODB.interfaces import IMVCCStorage

from shop.meters import KIND, REPLAY, Meters
from shop.pages.lru import BoundedLRU

log = logging.getLogger(__name__)

OFFER = "shop.replay.offer"  # the environ key a view's offer travels in
# Requests with any of these headers are answered in full: who asks, or what the client
# already holds, changes the answer.
BYPASS = (
    "HTTP_AUTHORIZATION", "HTTP_COOKIE", "HTTP_RANGE", "HTTP_IF_RANGE", "HTTP_IF_NONE_MATCH",
    "HTTP_IF_MODIFIED_SINCE", "HTTP_IF_MATCH", "HTTP_IF_UNMODIFIED_SINCE",
)
# Bodies above this go to the server as a file (waitress sends those without copying them).
LARGE_BODY = 64 * 1024


class Offer(NamedTuple):
    body: bytes
    etag: str
    expires: float | None  # time.monotonic() after which the answer may be out of date


class Answer(NamedTuple):
    tid: Hashable  # the token it was made at
    expires: float | None
    status: str
    headers: list[tuple[str, str]]
    body: bytes


def offer(request, body: bytes, etag: str, expires: float | None = None) -> None:
    """Let the answer being made (status 200, this body and ETag) be given again to the
    same anonymous request until the database changes or ``expires`` passes."""
    request.environ[OFFER] = Offer(body, etag, expires)


def body_iterable(environ: dict, body: bytes) -> Iterable[bytes]:
    """``body`` as a WSGI response iterable: large ones through ``wsgi.file_wrapper``."""
    wrapper = environ.get("wsgi.file_wrapper")
    if wrapper is not None and len(body) > LARGE_BODY:
        return wrapper(io.BytesIO(body), LARGE_BODY)
    return [body]


def request_key(environ: dict) -> tuple | None:
    """What an anonymous page request's answer depends on, or None when it is not one."""
    path = environ.get("PATH_INFO", "")
    if environ["REQUEST_METHOD"] != "GET" or not path.endswith("/"):
        return None  # pages end with a slash: files, uploads and forms stop here
    for name in BYPASS:
        if name in environ:
            return None
    return (
        path, environ.get("QUERY_STRING", ""), environ.get("SCRIPT_NAME", ""),
        environ.get("wsgi.url_scheme"), environ.get("HTTP_HOST"), environ.get("REMOTE_ADDR"),
        environ.get("HTTP_ACCEPT"), environ.get("HTTP_ACCEPT_ENCODING"),
    )


class Replay:
    """WSGI middleware: keeps offered answers by request, gives them again while valid."""

    def __init__(self, app, db, max_bytes: int, meters: Meters | None = None,
                 token: Callable[[], Hashable] | None = None) -> None:
        self.app = app
        self.meters = meters if meters is not None else Meters()
        self.registry = app.registry  # tests and scripts reach the registry through the app
        self.db = db
        # What changes at every commit, asked before and after each answer: the storage's
        # last transaction id, unless ``token`` says otherwise.
        self.token = token if token is not None else db.lastTransaction
        self.answers: BoundedLRU[Answer] = BoundedLRU(max_bytes, lambda a: len(a.body))
        self.hits = 0  # answers given again (not exact under concurrency: a statistic)

    def __call__(self, environ, start_response):
        key = request_key(environ)
        if key is None:
            return self.app(environ, start_response)
        tid = self.token()
        answer = self.answers.get(key)
        if answer is not None and answer.tid == tid and (
            answer.expires is None or time.monotonic() < answer.expires
        ):
            self.hits += 1
            environ[KIND] = "page"
            self.meters.note(REPLAY, outcome="hit")
            start_response(answer.status, list(answer.headers))
            return body_iterable(environ, answer.body)
        self.meters.note(REPLAY, outcome="miss")
        environ.pop(OFFER, None)
        seen: list = []

        def capture(status, headers, exc_info=None):
            seen[:] = [status, headers]
            return start_response(status, headers, exc_info)

        result = self.app(environ, capture)
        offered = environ.pop(OFFER, None)
        if offered is not None and seen and self._keepable(offered, *seen):
            # Kept only if nothing committed meanwhile: then the answer shows the tree at ``tid``.
            if self.token() == tid:
                self.answers.put(key, Answer(tid, offered.expires, seen[0], list(seen[1]), offered.body))
        return result

    @staticmethod
    def _keepable(offered: Offer, status: str, headers: list[tuple[str, str]]) -> bool:
        if not status.startswith("200 "):
            return False
        if offered.expires is not None and offered.expires <= time.monotonic():
            return False
        found = {name.lower(): value for name, value in headers}
        # The answer sent is the one offered (a retried request may have answered otherwise),
        # and it sets nothing for one client alone.
        return (
            found.get("etag") == f'"{offered.etag}"'
            and found.get("content-length") == str(len(offered.body))
            and "set-cookie" not in found
        )


def replaying(app, services, max_bytes: int):
    """``app`` behind a ``Replay`` of up to ``max_bytes`` of answers (``services.replay``),
    or ``app`` itself when the storage cannot tell every change or ``max_bytes`` is 0."""
    services.replay = None
    if max_bytes <= 0:
        return app
    db, token = services.db, None
    if IMVCCStorage.providedBy(db.storage):
        if services.changes is None:
            log.info("%s polls for changes per connection: pages are not replayed",
                     type(db.storage).__name__)
            return app
        token = services.changes.token  # PostgreSQL notifies each commit
    services.replay = Replay(app, db, max_bytes, services.meters, token)
    return services.replay
