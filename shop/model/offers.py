"""What a repository offers: which files its pages list and its URLs serve.

Rules of the tree alone (a repository's settings and a project's state), shared by the
simple pages, the JSON API, the admin pages and the file downloads.
"""
from __future__ import annotations

from shop.model import names
from shop.model.tree import Package, Release, ReleaseFile, Repository


def is_visible(file: ReleaseFile, repository: Repository) -> bool:
    """Whether a file is offered: hosted projects hide upstream files unless allowed to merge."""
    if file.origin != "mirror":
        return True
    release = file.__parent__
    package = release.__parent__ if release is not None else None
    if package is not None and package.hosted and package.__name__ not in repository.merge_allowed:
        return False
    return not (repository.offline and file.blob is None)


def visible_files(package: Package) -> list[ReleaseFile]:
    """The files a project page lists, sorted by version then filename."""
    repository = package.__parent__
    files = [f for f in package.files() if is_visible(f, repository)]
    files.sort(key=lambda f: (names.sort_key(f.__parent__.version), f.filename))
    return files


def release_files(release: Release) -> list[ReleaseFile]:
    """The files of one release that its repository offers."""
    repository = release.__parent__.__parent__
    return [f for f in release.values() if is_visible(f, repository)]


def latest_release(package: Package) -> Release | None:
    """The newest release that is not yanked, preferring final releases (as PyPI does)."""
    releases = [r for r in package.releases() if release_files(r) and not r.yanked]
    finals = [r for r in releases if not names.parse_version(r.version).is_prerelease]
    return (finals or releases or package.releases() or [None])[0]
