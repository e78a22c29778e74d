"""Talking to an upstream index: project pages looked up on demand and merged into the tree.

What upstream said about a project (files, hashes, sizes, upload times, requires-python,
yanks, core-metadata hashes) is stored in the tree, so it survives restarts and serves when
upstream is down. Pages are re-checked after ``shop.mirror.index_ttl`` seconds with a
conditional request; an answer that changes nothing writes nothing.
"""
from __future__ import annotations

import datetime
import logging
import threading
import time
from dataclasses import dataclass
from urllib.parse import urljoin

import requests
from pypi_simple import ACCEPT_JSON_PREFERRED, DistributionPackage, ProjectPage
from requests.adapters import HTTPAdapter

from . import names
from .resources import Package, Release, ReleaseFile, Repository

log = logging.getLogger(__name__)

PACKAGE_TYPES = {"wheel": "bdist_wheel", "sdist": "sdist"}
NOT_FOUND_TTL = 60.0  # seconds an upstream 404 is remembered
RESULT_TTL = 30.0  # seconds a fetched page is reused (a retried request must not fetch again)


class UpstreamError(Exception):
    """Upstream could not be asked or gave an answer that cannot be used; the message says how."""


class UpstreamNotFound(Exception):
    """Upstream does not know the project."""


@dataclass(frozen=True)
class UpstreamFile:
    filename: str
    url: str
    version: str
    packagetype: str
    sha256: str | None
    size: int | None
    upload_time: datetime.datetime | None
    requires_python: str | None
    yanked: bool
    yanked_reason: str
    metadata_sha256: str | None

    @classmethod
    def from_package(cls, pkg: DistributionPackage) -> "UpstreamFile | None":
        """Convert what pypi-simple parsed; None for files an installer could not use."""
        packagetype = PACKAGE_TYPES.get(pkg.package_type or "")
        if packagetype is None or not pkg.version:
            return None
        try:
            names.check_filename(pkg.filename)
            names.version_key(pkg.version)
        except names.InvalidName:
            return None
        upload_time = pkg.upload_time
        if upload_time is not None and upload_time.tzinfo is None:
            upload_time = upload_time.replace(tzinfo=datetime.timezone.utc)
        return cls(
            filename=pkg.filename,
            url=pkg.url.split("#", 1)[0],
            version=pkg.version,
            packagetype=packagetype,
            sha256=(pkg.digests or {}).get("sha256"),
            size=pkg.size,
            upload_time=upload_time,
            requires_python=pkg.requires_python or None,
            yanked=bool(pkg.is_yanked),
            yanked_reason=pkg.yanked_reason or "",
            metadata_sha256=(pkg.metadata_digests or {}).get("sha256") if pkg.has_metadata else None,
        )


@dataclass(frozen=True)
class UpstreamPage:
    name: str
    files: tuple[UpstreamFile, ...]
    etag: str | None
    last_modified: str | None


class Upstream:
    """An HTTP client for upstream indexes: one pooled session, explicit timeouts."""

    def __init__(self, timeout: tuple[float, float], user_agent: str) -> None:
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers["User-Agent"] = user_agent
        adapter = HTTPAdapter(pool_connections=16, pool_maxsize=32, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def get(self, url: str, *, stream: bool = False, headers: dict | None = None) -> requests.Response:
        """GET ``url``; raise UpstreamError naming the problem on timeouts and connection errors."""
        try:
            return self.session.get(url, headers=headers, timeout=self.timeout, stream=stream)
        except requests.Timeout:
            raise UpstreamError(f"upstream {url} timed out (shop.upstream.timeout {self.timeout})") from None
        except requests.RequestException as e:
            raise UpstreamError(f"cannot reach upstream {url}: {e.__class__.__name__}") from None

    def project_page(self, base_url: str, project: str, etag: str | None = None,
                     last_modified: str | None = None) -> UpstreamPage | None:
        """Upstream's page for ``project``; None when it is unchanged since ``etag``."""
        url = urljoin(base_url, project + "/")
        headers = {"Accept": ACCEPT_JSON_PREFERRED}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        response = self.get(url, headers=headers)
        if response.status_code == 304:
            return None
        if response.status_code in (404, 410):
            raise UpstreamNotFound(project)
        if response.status_code != 200:
            raise UpstreamError(f"upstream {url} answered {response.status_code} {response.reason}")
        try:
            page = ProjectPage.from_response(response, project)
        except Exception as e:  # pypi-simple raises several kinds for unreadable pages
            raise UpstreamError(f"upstream {url} sent a page that cannot be read: {e}") from None
        files = tuple(f for f in map(UpstreamFile.from_package, page.packages) if f is not None)
        return UpstreamPage(
            name=page.project or project,
            files=files,
            etag=response.headers.get("ETag"),
            last_modified=response.headers.get("Last-Modified"),
        )


class MirrorState:
    """Per-process memory of the mirror: when each project was last checked, recent 404s."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._checked: dict[tuple[str, str], float] = {}
        self._not_found: dict[tuple[str, str], float] = {}
        self._results: dict[tuple[str, str], tuple[float, UpstreamPage | None]] = {}

    def is_fresh(self, key: tuple[str, str], ttl: float) -> bool:
        return time.monotonic() < self.fresh_until(key, ttl)

    def fresh_until(self, key: tuple[str, str], ttl: float) -> float:
        """The ``time.monotonic()`` at which the project is due to be checked again."""
        return self._checked.get(key, float("-inf")) + ttl

    def mark_checked(self, key: tuple[str, str]) -> None:
        with self._lock:
            self._checked[key] = time.monotonic()
            self._results.pop(key, None)

    def known_missing(self, key: tuple[str, str]) -> bool:
        return time.monotonic() < self._not_found.get(key, float("-inf"))

    def mark_missing(self, key: tuple[str, str]) -> None:
        with self._lock:
            self._not_found[key] = time.monotonic() + NOT_FOUND_TTL

    def recent_result(self, key: tuple[str, str]) -> tuple[bool, UpstreamPage | None]:
        entry = self._results.get(key)
        if entry is None or time.monotonic() - entry[0] > RESULT_TTL:
            return False, None
        return True, entry[1]

    def remember_result(self, key: tuple[str, str], page: UpstreamPage | None) -> None:
        with self._lock:
            self._results[key] = (time.monotonic(), page)


def mirrors(repository: Repository, package: Package | None) -> bool:
    """Whether requests for this project consult the repository's upstream."""
    if not repository.upstream or repository.offline:
        return False
    if package is not None and package.hosted:
        return package.__name__ in repository.merge_allowed
    return True


def fresh_until(request, repository: Repository, package: Package) -> float | None:
    """Until when ``package`` is served as it is without asking upstream (a
    ``time.monotonic()``); None when its page does not depend on upstream at all."""
    if not mirrors(repository, package):
        return None
    key = (repository.upstream, package.__name__)
    return request.registry.mirror_state.fresh_until(key, request.registry.shop_settings.index_ttl)


def is_visible(file: ReleaseFile, repository: Repository) -> bool:
    """Whether a file is offered: hosted projects hide upstream files unless allowed to merge."""
    if file.origin != "mirror":
        return True
    release = file.__parent__
    package = release.__parent__ if release is not None else None
    if package is not None and package.hosted and package.__name__ not in repository.merge_allowed:
        return False
    return not (repository.offline and file.blob is None)


def lookup(request, repository: Repository, name: str) -> Package | None:
    """The current package for ``name``: from the tree, refreshed from upstream when stale.

    Raises UpstreamError when upstream fails and nothing is cached; returns None when neither
    the tree nor upstream knows the project. Writes happen in the request's transaction only
    when upstream said something new.
    """
    package = repository.get(name)
    if not mirrors(repository, package):
        return package
    settings = request.registry.shop_settings
    state: MirrorState = request.registry.mirror_state
    key = (repository.upstream, name)
    if package is not None and state.is_fresh(key, settings.index_ttl):
        return package
    if package is None and state.known_missing(key):
        return None
    found, page = state.recent_result(key)
    try:
        if not found:
            page = request.registry.upstream.project_page(
                repository.upstream, name,
                etag=package.upstream_etag if package is not None else None,
                last_modified=package.upstream_last_modified if package is not None else None,
            )
            state.remember_result(key, page)
    except UpstreamNotFound:
        state.mark_missing(key)
        if package is not None:
            log.warning("upstream no longer knows %s; serving what is cached", name)
        return package
    except UpstreamError as e:
        if package is None:
            raise
        log.warning("%s; serving the cached page of %s", e, name)
        return package
    if page is not None:
        package = apply_page(repository, name, page)
    request.tm.get().addAfterCommitHook(lambda ok: ok and state.mark_checked(key))
    return package


def apply_page(repository: Repository, name: str, page: UpstreamPage) -> Package:
    """Merge what upstream said into the tree; touch nothing when nothing changed."""
    package = repository.get(name)
    if package is None:
        package = repository.add(name, Package(page.name))
    changed = False
    listed = set()
    for upstream_file in page.files:
        release_key = names.version_key(upstream_file.version)
        listed.add((release_key, upstream_file.filename))
        release = package.get(release_key)
        if release is None:
            release = package.add(release_key, Release(upstream_file.version))
        existing = release.get(upstream_file.filename)
        if existing is None:
            release.add(upstream_file.filename, _new_file(upstream_file))
            changed = True
        elif existing.origin == "mirror":
            changed |= _update_file(existing, upstream_file)
    changed |= _drop_unlisted(package, listed)
    if changed:
        package.upstream_etag = page.etag
        package.upstream_last_modified = page.last_modified
        package.changed()
    return package


def _new_file(f: UpstreamFile) -> ReleaseFile:
    file = ReleaseFile(
        f.filename,
        packagetype=f.packagetype,
        size=f.size,
        sha256=f.sha256,
        upload_time=f.upload_time,
        requires_python=f.requires_python,
        core_metadata_sha256=f.metadata_sha256,
    )
    file.origin = "mirror"
    file.upstream_url = f.url
    file.upload_time = f.upload_time  # unknown (None) for pages without it: never invented
    if f.yanked:
        file.yanked, file.yanked_reason = True, f.yanked_reason
    return file


def _update_file(file: ReleaseFile, f: UpstreamFile) -> bool:
    """Bring a mirrored file's record up to date; True if anything changed."""
    wanted = {
        "yanked": f.yanked,
        "yanked_reason": f.yanked_reason if f.yanked else "",
        "requires_python": f.requires_python,
        "upstream_url": f.url,
    }
    if file.core_metadata is None:
        wanted["core_metadata_sha256"] = f.metadata_sha256
    if file.blob is None:
        wanted["sha256"] = f.sha256
        wanted["size"] = f.size
    elif f.sha256 and f.sha256 != file.sha256:
        log.warning("upstream changed the bytes of %s; keeping the verified copy", file.filename)
    changes = {k: v for k, v in wanted.items() if getattr(file, k) != v}
    for attribute, value in changes.items():
        setattr(file, attribute, value)
    return bool(changes)


def _drop_unlisted(package: Package, listed: set) -> bool:
    """Forget mirrored files upstream no longer lists, unless their bytes are cached here."""
    dropped = False
    for release_key, release in list(package.items()):
        for filename, file in list(release.items()):
            if file.origin == "mirror" and file.blob is None and (release_key, filename) not in listed:
                release.remove(filename)
                dropped = True
        if not len(release):
            package.remove(release_key)
    return dropped


def includeme(config) -> None:
    settings = config.registry.shop_settings
    from . import __version__

    config.registry.upstream = Upstream(
        settings.upstream_timeout,
        f"localshop/{__version__} (+python-requests/{requests.__version__})",
    )
    config.registry.mirror_state = MirrorState()
