"""The WSGI pipeline around Pyramid's application, and the process tuning it runs under."""
from __future__ import annotations

import ctypes
import logging
import resource

from shop.pages.replay import replaying
from shop.services import Services

log = logging.getLogger(__name__)

M_ARENA_MAX = -8  # glibc's mallopt parameter number
# Below this many open files, production.ini's connection_limit (4000) cannot be reached.
OPEN_FILES_WANTED = 8192


def pipeline(config, services: Services):
    """Pyramid's application behind the replay of anonymous pages (``services.replay``)."""
    app = seekable_input(config.make_wsgi_app())
    return replaying(app, services, services.settings.page_cache_size // 4)


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
