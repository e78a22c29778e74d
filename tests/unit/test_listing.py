"""A project's versions a page at a time: pages, their bounds, and only the shown ones loaded."""
from __future__ import annotations

from shop.model import listing
from shop.model.names import version_key
from shop.model.root import app_root
from shop.model.tree import Package, Release
from tests.unit.conftest import other_connection


def project(repository, count: int) -> Package:
    package = repository.add("big", Package("big"))
    for n in range(count):
        package.add(version_key(f"1.{n}"), Release(f"1.{n}"))
    return package


def test_sixty_versions_are_three_pages_and_only_the_shown_releases_are_loaded(db, repository, tm):
    project(repository, 60)
    tm.commit()
    conn = other_connection(db)
    try:
        package = app_root(conn).repositories["default"]["big"]
        page = listing.version_page(package, 2)
        assert (page.number, page.pages, page.total, page.first, page.last) == (2, 3, 60, 21, 40)
        assert [r.version for r in page.releases] == [f"1.{n}" for n in range(39, 19, -1)]
        loaded = [key for key in package.keys() if package._items[key]._p_changed is not None]
        assert sorted(loaded) == sorted(version_key(f"1.{n}") for n in range(20, 40))
    finally:
        conn.close()


def test_a_page_past_either_end_is_the_nearest_one(repository):
    package = project(repository, 21)
    assert listing.version_page(package, 0).number == 1
    assert [r.version for r in listing.version_page(package, 9).releases] == ["1.0"]


def test_the_page_showing_a_version(repository):
    package = project(repository, 41)
    assert listing.page_showing(package, version_key("1.40")) == 1
    assert listing.page_showing(package, version_key("1.21")) == 1
    assert listing.page_showing(package, version_key("1.20")) == 2
    assert listing.page_showing(package, version_key("1.0")) == 3


def test_a_project_without_versions_is_one_empty_page(repository):
    page = listing.version_page(repository.add("empty", Package("empty")))
    assert (page.number, page.pages, page.releases) == (1, 1, [])
