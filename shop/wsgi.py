"""The WSGI pipeline around Pyramid's application, and the process tuning it runs under."""
from __future__ import annotations

import ctypes
import logging
import resource
import time

import plaster
from pyramid.httpexceptions import HTTPRequestHeaderFieldsTooLarge, HTTPRequestURITooLong

from shop.meters import KIND, REQUEST, Meters
from shop.pages.replay import replaying
from shop.services import Services
from shop.views import http_error

log = logging.getLogger(__name__)

M_ARENA_MAX = -8  # glibc's mallopt parameter number
# Below this many open files, production.ini's connection_limit (4000) cannot be reached.
OPEN_FILES_WANTED = 8192
# What a request may carry before anything reads it, as nginx's and PyPI's front ends allow:
# one header line or the request line (8 KiB), how many headers, and all of them together
# (production.ini has waitress refuse the same total while it reads, with a 431 of its own).
MAX_LINE = 8 * 1024
MAX_HEADERS = 100
MAX_HEADERS_TOTAL = 64 * 1024
# waitress's own default number of request threads.
WAITRESS_THREADS = 4
# The two headers WSGI gives without the HTTP_ prefix.
BODY_HEADERS = ("CONTENT_TYPE", "CONTENT_LENGTH")


def pipeline(config, services: Services):
    """Pyramid's application behind the replay of anonymous pages (``services.replay``),
    behind the limits on request headers, behind the counting of every request."""
    app = seekable_input(config.make_wsgi_app())
    app = limit_headers(replaying(app, services, services.settings.page_cache_size // 4))
    return counting(app, services.meters)


def counting(app, meters: Meters):
    """Note every request (REQUEST): its kind (``environ[KIND]``, set by the views and the
    replay), its status, and the seconds until its answer began (a file's body, sent after,
    is not timed: waitress sends it from the file, unwrapped)."""
    note, clock = meters.note, time.perf_counter

    def wrapper(environ, start_response):
        start, seen = clock(), []

        def capture(status, headers, exc_info=None):
            seen.append(status)
            return start_response(status, headers, exc_info)

        try:
            return app(environ, capture)
        finally:  # an exception that escapes is waitress's 500
            note(REQUEST, clock() - start, kind=environ.get(KIND, "other"),
                 status=seen[-1][:3] if seen else "500")

    wrapper.registry = app.registry
    return wrapper


def limit_headers(app):
    """Answer 431 (414 for the request line) to a request over the header limits."""

    def wrapper(environ, start_response):
        refusal = header_refusal(environ)
        if refusal is None:
            return app(environ, start_response)
        return refusal(environ, start_response)

    wrapper.registry = app.registry
    return wrapper


def header_refusal(environ: dict):
    """The error for a request whose request line or headers pass a limit, or None."""
    # The URL as sent, percent-encoding and all: waitress's REQUEST_URI, gunicorn's RAW_URI.
    target = (environ.get("REQUEST_URI") or environ.get("RAW_URI")
              or environ.get("PATH_INFO", "") + environ.get("QUERY_STRING", ""))
    if len(target) > MAX_LINE:
        return http_error(HTTPRequestURITooLong, f"The request's URL is {len(target)} bytes long;"
                                                 f" at most {MAX_LINE} are accepted.")
    # The common path, on every request (replayed pages too): one plain loop, no formatting.
    count = total = longest = 0
    for key, value in environ.items():
        if key[:5] == "HTTP_":  # the line "Name: value": the name is the key less "HTTP_"
            size = len(key) - 3 + len(value)
        elif key in BODY_HEADERS and value:
            size = len(key) + 2 + len(value)
        else:
            continue
        count += 1
        total += size + 2
        if size > longest:
            longest = size
    if count > MAX_HEADERS or longest > MAX_LINE or total > MAX_HEADERS_TOTAL:
        return header_error(environ)
    return None


def header_error(environ: dict):
    """The 431 that names the limit the request's headers pass (header_refusal found one)."""
    lines = [(name, len(name) + 2 + len(value)) for name, value in header_fields(environ)]
    if len(lines) > MAX_HEADERS:
        return http_error(HTTPRequestHeaderFieldsTooLarge, f"The request has {len(lines)}"
                          f" headers; at most {MAX_HEADERS} are accepted.")
    name, longest = max(lines, key=lambda line: line[1], default=("", 0))
    if longest > MAX_LINE:
        return http_error(HTTPRequestHeaderFieldsTooLarge, f"Header {name[:60]} is {longest}"
                          f" bytes long; at most {MAX_LINE} per header are accepted.")
    total = sum(size + 2 for _, size in lines)
    return http_error(HTTPRequestHeaderFieldsTooLarge, f"The request's headers are {total}"
                      f" bytes long; at most {MAX_HEADERS_TOTAL} in all are accepted.")


def header_fields(environ: dict) -> list[tuple[str, str]]:
    """The request's header fields as (Name-As-Sent, value), from the WSGI environ."""
    fields = [(key[5:], value) for key, value in environ.items() if key.startswith("HTTP_")]
    fields += [(key, environ[key]) for key in BODY_HEADERS if environ.get(key)]
    return [(key.replace("_", "-").title(), str(value)) for key, value in fields]


def seekable_input(app):
    """Tell WebOb that waitress's request body is already a seekable file.

    pyramid_retry makes every body seekable so a retried request can read it again; without
    this, WebOb copies each upload into one more temporary file first.
    """

    def wrapper(environ, start_response):
        body = environ.get("wsgi.input")
        if environ.get("CONTENT_LENGTH") and getattr(body, "seekable", lambda: False)():
            environ["webob.is_body_seekable"] = True
        try:
            return app(environ, start_response)
        finally:
            copy = environ.get("wsgi.input")
            if copy is not body and copy is not None:  # WebOb's copy: close it now, not at GC
                copy.close()

    wrapper.registry = app.registry  # tests and scripts reach the registry through the app
    return wrapper


def server_threads(global_config: dict) -> int:
    """How many request threads waitress runs: ``threads`` of the ini's ``[server:main]``.

    PasteDeploy hands the application only its own section; the ini's path
    (``global_config['__file__']``) leads to the server's. Without an ini (tests), or
    without the key, waitress's default.
    """
    path = global_config.get("__file__")
    if not path:
        return WAITRESS_THREADS
    try:
        value = plaster.get_settings(path, "server:main").get("threads")
        return max(1, int(value)) if value else WAITRESS_THREADS
    except (ValueError, plaster.PlasterError) as e:
        log.warning("Cannot read [server:main] threads from %s (%s): assuming %d",
                    path, e, WAITRESS_THREADS)
        return WAITRESS_THREADS


def tune_process() -> None:
    """What main() sets for the whole process: few malloc arenas, many open files."""
    limit_malloc_arenas()
    raise_open_files_limit()


def limit_malloc_arenas(arenas: int = 2) -> None:
    """Keep glibc from giving each of waitress's threads a memory arena of its own.

    Sending a large file allocates buffers of hundreds of KiB in the thread that sends it;
    by default glibc keeps them, freed, in that thread's own arena for good, so every
    waitress thread ends up holding several MiB. Two shared arenas keep the server's memory
    flat. Does nothing where the C library is not glibc.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(M_ARENA_MAX, arenas)
    except (OSError, AttributeError):
        pass


def raise_open_files_limit(wanted: int = OPEN_FILES_WANTED) -> int:
    """Raise this process's soft limit of open files toward its hard limit; return the limit.

    Every connection waitress holds is an open file, and many systems still start services
    with a soft limit of 1024: a thousand idle sockets would then use up the process's files
    and leave none for the next client, the database or the blob being sent.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return soft
    # An unlimited hard limit: a generous finite one (some code sizes tables by the limit).
    target = max(soft, 1 << 20) if hard == resource.RLIM_INFINITY else hard
    if target > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):  # a sandbox that refuses: keep what there is
            pass
    if soft < wanted:
        log.warning("Only %d open files allowed (hard limit %s): connections beyond that are"
                    " refused; raise the hard limit (ulimit -Hn, LimitNOFILE=) to %d or more",
                    soft, hard, wanted)
    return soft
