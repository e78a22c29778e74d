"""What a repository offers: which files its pages list and its URLs serve.

Rules of the tree alone (a repository's settings and a project's state), shared by the
simple pages, the JSON API, the admin pages and the file downloads.
"""
from __future__ import annotations

from shop.model import names
from shop.model.tree import Package, Release, ReleaseFile, Repository


def hides_upstream(package: Package, repository: Repository) -> bool:
    """Whether a project hosted here hides upstream's files (dependency-confusion protection)."""
    return package.hosted and package.__name__ not in repository.merge_allowed


def is_visible(file: ReleaseFile, repository: Repository) -> bool:
    """Whether a file is offered: hosted projects hide upstream files unless allowed to merge."""
    if file.origin != "mirror":
        return True
    release = file.__parent__
    package = release.__parent__ if release is not None else None
    if package is not None and hides_upstream(package, repository):
        return False
    return not (repository.offline and file.blob is None)


def upstream_files(package: Package) -> int:
    """How many of the project's files are known from upstream (whether offered or not)."""
    return sum(1 for f in package.files() if f.origin == "mirror")


def hidden_upstream_files(package: Package) -> int:
    """How many upstream files the project does not offer because it is hosted here.

    Only a hosted project can hide any, so a mirrored one costs nothing to ask about; a hosted
    one's count was kept when it began to hide them (``count_hidden_upstream``), and its
    upstream files no longer change (the mirror does not refresh what it hides).
    """
    if not hides_upstream(package, package.__parent__):
        return 0
    if package.hidden_upstream is None:
        return upstream_files(package)  # hosted before the count was kept: walked
    return package.hidden_upstream


def count_hidden_upstream(package: Package) -> int:
    """Count (once, as the project begins to hide them) the upstream files it hides."""
    package.hidden_upstream = upstream_files(package)
    return package.hidden_upstream


def listed_only(package: Package) -> tuple[tuple, ...] | None:
    """Upstream's listing entries, when they are exactly what the project's pages show (no
    file stored or uploaded here, nothing hidden, the repository online); else None."""
    repository = package.__parent__
    if package.listing is None or len(package) or repository.offline or \
            hides_upstream(package, repository):
        return None
    return package.listing.entries


def visible_files(package: Package) -> list[ReleaseFile]:
    """The files a project page lists, sorted by version then filename (``is_visible``, for
    all of a project's files at once: a mirrored project may have 15,000)."""
    repository = package.__parent__
    hidden, offline = hides_upstream(package, repository), repository.offline
    files = [f for f in package.files()
             if f.origin != "mirror" or not hidden and not (offline and f.blob is None)]
    if any(f.stored for f in files):  # listed files alone come in the listing's order
        files.sort(key=lambda f: (names.sort_key(f.__parent__.version), f.filename))
    return files


def release_files(release: Release) -> list[ReleaseFile]:
    """The files of one release that its repository offers."""
    repository = release.__parent__.__parent__
    return [f for f in release.files() if is_visible(f, repository)]


def latest_release(package: Package) -> Release | None:
    """The newest release that is not yanked, preferring final releases (as PyPI does).

    Newest first, stopping at the first final one: a project of a thousand versions loads
    only the few it looks at.
    """
    releases = package.releases()
    fallback = None
    for release in releases:
        if release.yanked or not release_files(release):
            continue
        if not names.parse_version(release.version).is_prerelease:
            return release
        fallback = fallback or release
    return fallback or (releases[0] if releases else None)
