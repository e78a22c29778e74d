"""The access log: one line per request, written off the request thread.

``filter_factory`` is the PasteDeploy filter (``[filter:accesslog]``, ``filter-with =
accesslog`` in ``[app:main]``). A request thread only puts a tuple on a queue; a daemon
thread formats it and logs it to the ``shop.accesslog`` logger at INFO, so the ini's logging
configuration decides where it goes (and a level of WARNING turns it off).
"""
from __future__ import annotations

import atexit
import contextlib
import logging
import queue
import re
import threading
import time

from pyramid.events import NewResponse
from pyramid.interfaces import ISecurityPolicy

log = logging.getLogger(__name__)  # shop.accesslog: not shop.access, the package of access control

USER_KEY = "localshop.user"  # set in the environ by Pyramid, read by the log
MAX_TARGET = 1000  # characters of the path and query logged
MAX_AGENT = 200  # characters of the User-Agent logged
STOP = None  # what tells the writer to end
MAX_QUEUED = 100_000  # lines waiting for the writer; more are dropped and counted


class AccessLog:
    """The queue of finished requests and the daemon thread that writes their lines."""

    def __init__(self, logger: logging.Logger = log, size: int = MAX_QUEUED) -> None:
        self.logger = logger
        # Bounded: a log destination that blocks (a full pipe) costs lines, never memory.
        self.queue: queue.Queue = queue.Queue(size)
        self.dropped = 0
        self.thread = threading.Thread(target=self._write, name="access-log", daemon=True)
        self.thread.start()

    def put(self, entry: tuple) -> None:
        """Queue a finished request's line; drop it (and count it) when the queue is full."""
        try:
            self.queue.put_nowait(entry)
        except queue.Full:
            self.dropped += 1  # racy by a line or two at worst: a count for people

    def _write(self) -> None:
        while (entry := self.queue.get()) is not STOP:
            try:
                self.logger.info("%s", format_line(*entry))
                if self.dropped:
                    dropped, self.dropped = self.dropped, 0
                    self.logger.warning("%d access lines dropped: the log could not keep up", dropped)
            except Exception:  # a line that cannot be written must not end the log
                self.logger.exception("writing an access line")

    def close(self, timeout: float = 2.0) -> None:
        """Write what is queued (for up to ``timeout`` seconds) and end the writer."""
        if self.thread.is_alive():
            with contextlib.suppress(queue.Full):  # a writer stuck for good: let it be
                self.queue.put(STOP, timeout=timeout)
            self.thread.join(timeout)


_UNSAFE = re.compile(r'[\x00-\x1f\x7f-\x9f"\\]')


def _clean(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, control characters and quotes escaped."""
    text = text[:limit] + ("..." if len(text) > limit else "")
    return _UNSAFE.sub(_escape, text)


def _escape(match: re.Match) -> str:
    char = match.group()
    return "\\" + char if char in '"\\' else f"\\x{ord(char):02x}"


def request_fields(environ: dict) -> tuple:
    """What a line needs of the request, taken on the request thread: the queue holds these
    few strings, never the environ (its Authorization header, its body's file)."""
    target = environ.get("REQUEST_URI") or (
        environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
        + ("?" + environ["QUERY_STRING"] if environ.get("QUERY_STRING") else ""))
    return (environ.get("REMOTE_ADDR"), environ.get(USER_KEY), environ.get("REQUEST_METHOD"),
            target[:MAX_TARGET + 1], (environ.get("HTTP_USER_AGENT") or "-")[:MAX_AGENT + 1])


def content_length(headers) -> int:
    """An answer's Content-Length (what waitress's file wrapper sends), 0 when none."""
    return next((int(v) for k, v in headers or () if k.lower() == "content-length"), 0)


def format_line(fields: tuple, status: str | None, sent: int, started: float,
                ended: float) -> str:
    """``ADDRESS USER "METHOD TARGET" STATUS BYTES MSms "AGENT"``."""
    address, user, method, target, agent = fields
    return (
        f"{_clean(address or '-', 64)} {_clean(user or '-', 100)}"
        f" \"{_clean(method or '-', 20)} {_clean(target, MAX_TARGET)}\""
        f" {(status or '-').split(' ', 1)[0]} {sent} {(ended - started) * 1000:.1f}ms"
        f" \"{_clean(agent, MAX_AGENT)}\""
    )


def access_logged(app, access_log: AccessLog):
    """``app`` with a line queued for each request once its body's iterator is closed."""
    enabled = access_log.logger.isEnabledFor
    put = access_log.put

    def wrapper(environ, start_response):
        if not enabled(logging.INFO):  # the ini turned the log off: nothing at all
            return app(environ, start_response)
        started = time.perf_counter()
        answer = []

        def start(status, headers, exc_info=None):
            answer[:] = (status, headers)
            return start_response(status, headers, exc_info)

        try:
            body = app(environ, start)
        except BaseException:
            put((request_fields(environ), "500", 0, started, time.perf_counter()))
            raise
        return logged_body(body, environ, answer, started, put)

    wrapper.registry = getattr(app, "registry", None)  # scripts and tests reach it so
    return wrapper


def logged_body(body, environ: dict, answer: list, started: float, put):
    """``body`` with its close() queueing the line; waitress's file wrapper kept as it is."""
    file_wrapper = environ.get("wsgi.file_wrapper")
    if file_wrapper is not None and type(body) is file_wrapper:
        # waitress sends these itself (sendfile) when the type is its own: wrap close() only.
        original = body.close

        def close() -> None:
            try:
                original()
            finally:
                status, headers = answer or (None, None)
                put((request_fields(environ), status, content_length(headers), started,
                     time.perf_counter()))

        body.close = close
        return body
    if type(body) in (list, tuple):  # a body in memory (Pyramid's, a replayed page)
        return LoggedList(body, environ, answer, started, put)
    return LoggedBody(body, environ, answer, started, put)


class LoggedBody:
    """An app_iter counting the bytes sent, queueing the request's line when closed."""

    __slots__ = ("body", "environ", "answer", "started", "put", "sent")

    def __init__(self, body, environ: dict, answer: list, started: float, put) -> None:
        self.body, self.environ, self.answer = body, environ, answer
        self.started, self.put, self.sent = started, put, 0

    def __iter__(self):
        for chunk in self.body:
            self.sent += len(chunk)
            yield chunk

    def close(self) -> None:
        try:
            close = getattr(self.body, "close", None)
            if close is not None:
                close()
        finally:
            status, headers = self.answer or (None, None)
            self.put((request_fields(self.environ), status, self.sent, self.started,
                      time.perf_counter()))


class LoggedList(LoggedBody):
    """A body already in memory: counted at once, iterated without a generator, and of the
    same length (waitress gives a one-chunk body a Content-Length)."""

    __slots__ = ()

    def __init__(self, body, environ: dict, answer: list, started: float, put) -> None:
        super().__init__(body, environ, answer, started, put)
        self.sent = sum(map(len, body))

    def __iter__(self):
        return iter(self.body)

    def __len__(self) -> int:
        return len(self.body)


def filter_factory(global_config: dict, **settings):
    """The PasteDeploy filter (``use = call:shop.accesslog:filter_factory``)."""
    access_log = AccessLog()
    atexit.register(access_log.close)  # the last lines written before the process ends
    return lambda app: access_logged(app, access_log)


def note_user(event: NewResponse) -> None:
    """Put the request's user in the environ for the log, if the policy already knew it.

    Never asks for the identity itself: a request that did not need it (an anonymous page)
    costs no password check for the log's sake.
    """
    request = event.request
    policy = request.registry.queryUtility(ISecurityPolicy)
    cache = getattr(policy, "identity_cache", None)
    if cache is not None:
        identity = cache.get(request)
        userid = getattr(identity, "userid", None)
        if userid:
            request.environ[USER_KEY] = userid


def includeme(config) -> None:
    """The user of each answered request, noted for the access log."""
    config.add_subscriber(note_user, NewResponse)
