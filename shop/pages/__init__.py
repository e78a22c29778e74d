"""Simple pages: rendered once per change (``simple``), kept per process (``cache``, ``lru``),
and given again to anonymous clients before Pyramid while the database is unchanged (``replay``);
projects' descriptions rendered within a budget, once per change (``description``)."""
from __future__ import annotations

from shop.pages.cache import PageCache
from shop.pages.description import Descriptions


def includeme(config) -> None:
    """The process's page and description caches (``request.shop.pages``, ``.descriptions``)."""
    services = config.registry.shop
    services.pages = PageCache(services.settings.page_cache_size, services.meters)
    services.descriptions = Descriptions()
