"""localshop: a private Python package index with a caching mirror of an upstream index."""
from __future__ import annotations

from pyramid.config import Configurator
from pyramid_zodbconn import get_connection

from shop.model.root import app_root
from shop.services import Services
from shop.settings import apply_defaults
from shop.storage import prepare_database
from shop.version import __version__  # noqa: F401 (the package's version, as before)
from shop.wsgi import pipeline, server_threads, tune_process


def root_factory(request):
    """The application root, from this request's ZODB connection."""
    return app_root(get_connection(request))


def main(global_config, **settings):
    """The WSGI application (the ``paste.app_factory`` entry point)."""
    services = Services(apply_defaults(settings))  # stops start-up naming any bad shop.* key
    services.threads = server_threads(global_config)  # the database's pools are sized by it
    tune_process()  # malloc arenas, open files
    with Configurator(settings=settings, root_factory=root_factory) as config:
        # request.shop: the per-process services, filled in by the includes below in turn.
        config.registry.shop = services
        config.include(".services")
        # One transaction per request, aborted when the request fails or answers 4xx/5xx.
        config.include("pyramid_tm")
        config.include("pyramid_retry")  # requests that lost a ConflictError replayed
        # The ZODB database named by zodbconn.uri (a new shared one made first); one
        # connection per request.
        prepare_database(settings.get("zodbconn.uri", ""))
        config.include("pyramid_zodbconn")
        config.include("pyramid_chameleon")  # page templates for the browser pages
        include_services(config)
        # The admin pages' stylesheet, under a reserved segment no project can take.
        config.add_static_view("+static", "shop:static", cache_max_age=3600)
        # Who made each request, noted for the access log (the accesslog filter in the inis).
        config.include(".accesslog")
        # A path, query string or form that is not UTF-8: a 400 before anything decodes it.
        config.include(".views.decoding")
        config.scan(".views")
    # Anonymous page requests answered again, before Pyramid, while the database is unchanged.
    return pipeline(config, services)


def include_services(config) -> None:
    """The includes that fill the per-process services, in the order each needs the ones
    before it."""
    # Who is asking (HTTP Basic, session cookies) and what they may do (ACLs on resources);
    # first, since the first admin's password is hashed with the process's passwords.
    config.include(".access")
    # The database guarded, the tree made on first start, closed at exit; retry back-off.
    config.include(".storage")
    config.include(".postgresql")  # RelStorage on PostgreSQL: commit notices, download claims
    config.include(".pages")  # simple pages, rendered once per change, shared by all threads
    # The upstream client; mirrored files downloaded once and streamed to every client.
    config.include(".mirror")
    # Retention: download times written in batches, the policies applied periodically.
    config.include(".operations.retention")
    # The dashboard's daily counts: noted in memory, written every shop.stats.interval.
    config.include(".operations.daily")
    # Packing the database (POST /+pack), and daily when shop.pack_days is set.
    config.include(".operations.pack")
    config.include(".monitoring")  # /+metrics (the meters' notes, counted), /+health's probe
    config.include(".operations.webhooks")  # webhooks: queued deliveries posted, retried
