"""localshop: a private Python package index with a caching mirror of an upstream index."""
from __future__ import annotations

import ctypes
import random
import time

from pyramid.config import Configurator
from pyramid_retry import BeforeRetry
from pyramid_zodbconn import get_connection

from .database import close_at_exit, guard_blob_aborts, initialize
from .downloads import mirror_busy
from .replay import replaying
from .resources import app_root
from .security import use_argon2_profile
from .settings import ensure_storage_dirs, read_settings
from .simple import PageCache

__version__ = "2.0.0.dev0"


def root_factory(request):
    """The application root, from this request's ZODB connection."""
    return app_root(get_connection(request))


def main(global_config, **settings):
    """The WSGI application (the ``paste.app_factory`` entry point)."""
    shop_settings = read_settings(settings)  # stops start-up naming any bad shop.* key
    use_argon2_profile(shop_settings.argon2_profile)
    limit_malloc_arenas()
    ensure_storage_dirs(settings.get("zodbconn.uri", ""))
    settings.setdefault("tm.manager_hook", "pyramid_tm.explicit_manager")
    settings.setdefault("retry.attempts", "5")
    # The transaction note would compute the identity of every request, even anonymous.
    settings.setdefault("tm.annotate_user", "false")
    with Configurator(settings=settings, root_factory=root_factory) as config:
        config.registry.shop_settings = shop_settings
        # Simple pages, rendered once per change and shared by all threads.
        config.registry.page_cache = PageCache(shop_settings.page_cache_size)
        # One transaction per request, aborted when the request fails or answers 4xx/5xx.
        config.include("pyramid_tm")
        # Replay requests that lost a ConflictError to a concurrent writer, after a pause.
        config.include("pyramid_retry")
        config.add_subscriber(back_off, BeforeRetry)
        # The ZODB database named by zodbconn.uri; one connection per request.
        config.include("pyramid_zodbconn")
        # Page templates for the browser pages.
        config.include("pyramid_chameleon")
        # Who is asking (HTTP Basic) and what they may do (ACLs live on the resources).
        config.include(".security")
        # The upstream index client, and the per-process memory of what it said.
        config.include(".mirror")
        # Mirrored files: downloaded once per process, streamed to every waiting client.
        config.include(".downloads")
        # No failed commit may delete the blob files of another (a ZODB bug, see there).
        db = config.registry._zodb_databases[""]
        guard_blob_aborts(db.storage)
        # The tree and the first admin account, on first start.
        initialize(db, shop_settings)
        # At exit, mirrored files already served are stored before the database closes.
        close_at_exit(config.registry._zodb_databases.values(), mirror_busy(config.registry))
        # The admin pages' stylesheet, under a reserved segment no project can take.
        config.add_static_view("+static", "shop:static", cache_max_age=3600)
        config.scan(".views")
    app = seekable_input(config.make_wsgi_app())
    # Anonymous page requests answered again, before Pyramid, while the database is unchanged.
    return replaying(app, config.registry, db, shop_settings.page_cache_size // 4)


def back_off(event) -> None:
    """Wait a little, at random, before a retry: writers that collided once (uploads to one
    project) would otherwise collide again at once."""
    attempt = event.environ.get("retry.attempt", 0) + 1
    time.sleep(random.uniform(0, 0.02 * 2**attempt))


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


M_ARENA_MAX = -8  # glibc's mallopt parameter number


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
