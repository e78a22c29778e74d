"""The per-process services, one typed object: ``request.shop`` in views, ``services_of()`` elsewhere.

``main()`` makes it with the settings; each include that owns a service fills its field, in
the order ``main()`` includes them, each using what the ones before it set: ``shop.access``
the password checks, ``shop.storage`` the database, ``shop.postgresql`` what processes on
PostgreSQL share, ``shop.pages`` the page and description
caches, ``shop.mirror`` the upstream client and the downloads, ``shop.operations.daily`` the
dashboard's counts, ``shop.operations.pack`` the packer, ``shop.operations.webhooks`` the
webhooks' deliverer, ``shop.monitoring`` the probe and the metrics; the WSGI pipeline sets the
replay.
Nothing else is hung on the registry. The command line fills only what it uses (settings,
passwords, database): see ``shop.scripts.cli.open_services``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from shop.meters import Meters
from shop.settings import Settings

if TYPE_CHECKING:  # the services' own modules import nothing from here
    from ZODB import DB

    from shop.access.failures import FailedLogins
    from shop.access.passwords import Passwords
    from shop.mirror.asking import Asking
    from shop.mirror.downloads import Downloads
    from shop.mirror.lookup import MirrorState
    from shop.mirror.metadata import MetadataFetches
    from shop.mirror.prefetch import Prefetch
    from shop.mirror.upstream import Upstream
    from shop.mirror.writer import Writer
    from shop.monitoring.metrics import Metrics
    from shop.monitoring.probe import Probe
    from shop.operations.daily import DailyStats
    from shop.operations.pack import Packer
    from shop.operations.retention import DownloadTimes
    from shop.operations.webhooks import Deliverer
    from shop.pages.cache import PageCache
    from shop.pages.description import Descriptions
    from shop.pages.replay import Replay
    from shop.postgresql import Changes, Claims, NoClaims


@dataclass(eq=False)
class Services:
    """What one process keeps between requests."""

    settings: Settings
    db: DB = field(init=False)  # the database named by zodbconn.uri
    pages: PageCache = field(init=False)  # rendered simple pages, shared by all threads
    descriptions: Descriptions = field(init=False)  # rendered project descriptions, likewise
    # RelStorage on PostgreSQL (else None and NoClaims): every process's commits, as notified,
    # and the claims that let one process in all fetch a mirrored file.
    changes: Changes | None = field(init=False)
    claims: Claims | NoClaims = field(init=False)
    upstream: Upstream = field(init=False)  # the HTTP client for upstream indexes
    mirror_state: MirrorState = field(init=False)  # when each mirrored page was last checked
    writer: Writer = field(init=False)  # commits the mirror's writes in batches
    asking: Asking = field(init=False)  # who asked for projects awaiting approval
    downloads: Downloads = field(init=False)  # mirrored files being fetched
    metadata_fetches: MetadataFetches = field(init=False)  # mirrored .metadata being fetched
    prefetch: Prefetch | None = field(init=False)  # dependencies looked up ahead (or off)
    download_times: DownloadTimes = field(init=False)  # mirrored files served, not yet written
    passwords: Passwords = field(init=False)  # argon2 checks, their cache, the login throttle
    failed_logins: FailedLogins = field(init=False)  # which failed logins the audit log gets
    packer: Packer = field(init=False)  # packs the database, one pack at a time (+pack, schedule)
    stats: DailyStats = field(init=False)  # the dashboard's counts of today, not yet written
    probe: Probe = field(init=False)  # reads the database for /+health and /+metrics, in bounded time
    metrics: Metrics = field(init=False)  # the Prometheus registry of /+metrics, fed by the meters
    webhooks: Deliverer = field(init=False)  # posts the webhooks' queued deliveries
    meters: Meters = field(default_factory=Meters)  # what is counted, for metrics and the dashboard
    replay: Replay | None = None  # anonymous answers given again before Pyramid (or off)
    threads: int = 4  # waitress's request threads, each holding a connection per request

    def busy(self) -> bool:
        """Whether mirrored bytes already served are still being stored."""
        return (self.downloads.busy() or self.metadata_fetches.busy() or self.writer.busy()
                or self.prefetch is not None and self.prefetch.busy())


def services_of(registry) -> Services:
    """The services of an application's registry (``app.registry`` for scripts and tests)."""
    return registry.shop


def includeme(config) -> None:
    """``request.shop``: the services, for views."""
    config.add_request_method(lambda request: services_of(request.registry), "shop", reify=True)
