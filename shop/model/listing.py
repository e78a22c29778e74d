"""A project's versions a page at a time: the newest first, only the shown ones loaded."""
from __future__ import annotations

from dataclasses import dataclass

from shop.model.tree import Package, Release

PER_PAGE = 20


@dataclass(frozen=True)
class VersionPage:
    """One page of a project's versions, newest first, and where the others are."""

    number: int  # 1 for the newest versions
    pages: int
    total: int
    releases: list[Release]  # this page's releases
    keys: list[str]  # every release's key, newest first (keys only: nothing is loaded)

    @property
    def first(self) -> int:
        """The position (from 1) of this page's first version."""
        return (self.number - 1) * PER_PAGE + 1

    @property
    def last(self) -> int:
        return self.first + len(self.releases) - 1

    def page_of(self, index: int) -> int:
        """The page that shows the version at ``index`` in ``keys``."""
        return page_of(index)


def page_of(index: int) -> int:
    """The page that shows the version at ``index`` (from 0, newest first)."""
    return index // PER_PAGE + 1


def version_page(package: Package, number: int = 1) -> VersionPage:
    """Page ``number`` of the project's versions (the last page when past the end)."""
    keys = package.version_keys()
    pages = max(1, -(-len(keys) // PER_PAGE))
    number = min(max(number, 1), pages)
    shown = keys[(number - 1) * PER_PAGE: number * PER_PAGE]
    return VersionPage(number, pages, len(keys), [package[key] for key in shown], keys)


def page_showing(package: Package, key: str) -> int:
    """The page of the project's versions that shows release ``key``."""
    return page_of(package.version_keys().index(key))
