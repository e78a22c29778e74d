"""The caching mirror of an upstream index.

``upstream`` talks to it; ``lookup`` merges its project pages into the tree; ``downloads``
and ``metadata`` fetch files once and stream them while ``storing`` keeps them;
``serving`` decides how each file request is answered.
"""
from __future__ import annotations

import requests

from shop.mirror.downloads import Downloads
from shop.mirror.lookup import MirrorState
from shop.mirror.metadata import MetadataFetches
from shop.mirror.storing import storing_slots
from shop.mirror.upstream import Upstream
from shop.version import __version__


def includeme(config) -> None:
    """The upstream client, what this process remembers of it, and the downloads in flight."""
    services = config.registry.shop
    services.upstream = Upstream(
        services.settings.upstream_timeout,
        f"localshop/{__version__} (+python-requests/{requests.__version__})",
    )
    services.mirror_state = MirrorState()
    # The connections both open outside requests, bounded together (the pools allow for them).
    slots = storing_slots()
    services.downloads = Downloads(services.db, services.upstream, services.pages,
                                   max_size=services.settings.max_upload_size, slots=slots)
    services.metadata_fetches = MetadataFetches(services.db, services.upstream, slots)
