"""Simple pages: rendered once per change (``simple``), kept per process (``cache``, ``lru``),
and given again to anonymous clients before Pyramid while the database is unchanged (``replay``)."""
from __future__ import annotations

from shop.pages.cache import PageCache


def includeme(config) -> None:
    """The process's page cache (``request.shop.pages``)."""
    services = config.registry.shop
    services.pages = PageCache(services.settings.page_cache_size)
