"""The caching mirror of an upstream index.

``upstream`` talks to it; ``lookup`` serves its project pages and keeps them in the tree;
``downloads`` and ``metadata`` fetch files once and stream them (``following``: the clients
reading along) while ``storing`` keeps them;
``writer`` commits what they all learnt in few transactions (``asking``: who asked for
projects awaiting approval); ``prefetch`` looks up the
dependencies of every wheel it gets before a client asks; ``serving`` decides how each file
request is answered.
"""
from __future__ import annotations

import requests

from shop.mirror.asking import Asking
from shop.mirror.downloads import Downloads
from shop.mirror.lookup import MirrorState
from shop.mirror.metadata import MetadataFetches
from shop.mirror.prefetch import Prefetch
from shop.mirror.storing import storing_slots
from shop.mirror.upstream import Upstream
from shop.mirror.writer import Writer
from shop.version import __version__


def includeme(config) -> None:
    """The upstream client, what this process remembers of it, and the downloads in flight."""
    services = config.registry.shop
    services.upstream = Upstream(
        services.settings.upstream_timeout,
        f"localshop/{__version__} (+python-requests/{requests.__version__})",
        services.meters,
    )
    services.mirror_state = MirrorState()
    services.writer = Writer(services.db)  # one connection, outside requests
    services.asking = Asking(services.writer)  # requests for projects awaiting approval
    # A look for a stored copy opens a connection of its own: bounded, by one set of slots.
    slots = storing_slots()
    services.downloads = Downloads(services.db, services.upstream, services.writer,
                                   services.pages, max_size=services.settings.max_upload_size,
                                   meters=services.meters, claims=services.claims, slots=slots)
    services.metadata_fetches = MetadataFetches(services.db, services.upstream, services.writer,
                                                slots)
    services.prefetch = None
    if services.settings.prefetch:
        services.prefetch = Prefetch(services.db, services.upstream, services.mirror_state,
                                     services.writer, services.pages, services.settings.index_ttl)
        services.downloads.on_metadata = services.prefetch.wheel_metadata
        services.metadata_fetches.on_metadata = services.prefetch.wheel_metadata
