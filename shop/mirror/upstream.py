"""The upstream index's HTTP client: project pages read with pypi-simple, explicit timeouts.

One pooled ``requests`` session per process. Upstream's address is configuration
(``shop.upstream``, by default ``pypi_simple.PYPI_SIMPLE_ENDPOINT``).
"""
from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from urllib.parse import urljoin

import requests
from pypi_simple import (ACCEPT_JSON_PREFERRED, DistributionPackage, ProjectPage,
                         RepositoryPage, UnsupportedContentTypeError)
from requests.adapters import HTTPAdapter

from shop.meters import UPSTREAM, UPSTREAM_BYTES, Meters
from shop.mirror.health import UpstreamHealth
from shop.model.names import without_credentials
from shop.model import names
from shop.model.listings import Entry

PACKAGE_TYPES = {"wheel": "bdist_wheel", "sdist": "sdist"}
# A project page, decoded: PyPI's largest are a few MiB; a compressed bomb stops here.
PAGE_LIMIT = 64 * 1024 * 1024
# Strings of one file taken from upstream's listing, shown on pages and kept in the database.
URL_LIMIT = 8 * 1024  # longer: the file is dropped (it could not be fetched as it is)
PROVENANCE_URL_LIMIT = 2083  # pypi-simple's (pydantic's HttpUrl's); longer: left out
# (A digest that is not 64 hex digits drops the file too: its bytes could not be verified.)
REQUIRES_PYTHON_LIMIT = 1024  # longer: dropped, as if upstream gave none
YANKED_REASON_LIMIT = 1024  # longer: truncated to this many characters
# PEP 792: the project statuses taken from upstream (another value: as if none was said),
# and the longest reason kept (a longer one is cut).
STATUSES = ("active", "archived", "quarantined", "deprecated")
STATUS_REASON_LIMIT = 1000


class UpstreamError(Exception):
    """Upstream could not be asked or gave an answer that cannot be used; the message says how."""


class UpstreamNotFound(Exception):
    """Upstream does not know the project."""


def listed_entry(pkg: DistributionPackage, base: str | None = None,
                 page: str | None = None) -> Entry | None:
    """What pypi-simple parsed of one file, as an entry of the project's listing (URLs
    relative to ``base``, if given: pypi-simple resolved them otherwise; a provenance URL
    relative to ``page``, the page's own URL); None for files an installer could not use."""
    packagetype = PACKAGE_TYPES.get(pkg.package_type or "")
    if packagetype is None or not pkg.version:
        return None
    try:
        names.check_filename(pkg.filename)
        release_key = names.version_key(pkg.version)
    except names.InvalidName:
        return None
    sha256 = (pkg.digests or {}).get("sha256")
    metadata_sha256 = (pkg.metadata_digests or {}).get("sha256") if pkg.has_metadata else None
    if len(pkg.url) > URL_LIMIT or not all(map(_is_sha256, (sha256, metadata_sha256))):
        return None
    upload_time = pkg.upload_time
    if upload_time is not None and upload_time.tzinfo is None:
        upload_time = upload_time.replace(tzinfo=datetime.timezone.utc)
    yanked = bool(pkg.is_yanked)
    return Entry(
        filename=pkg.filename,
        url=_resolved(base, pkg.url.split("#", 1)[0]),
        release_key=release_key,
        version=pkg.version,
        packagetype=packagetype,
        sha256=sha256,
        size=pkg.size,
        upload_time=upload_time,
        requires_python=_within(pkg.requires_python, REQUIRES_PYTHON_LIMIT),
        yanked=yanked,
        yanked_reason=(pkg.yanked_reason or "")[:YANKED_REASON_LIMIT] if yanked else "",
        metadata_sha256=metadata_sha256,
        provenance_url=_provenance_url(pkg.provenance_url, base or page),
    )


def _provenance_url(url: str | None, base: str | None) -> str | None:
    """A file's provenance URL (PEP 740), absolute; None if there is none, or it is too long
    or not HTTP(S): the file is served all the same, without it."""
    url = _resolved(base, url) if url else None
    if url is None or len(url) > PROVENANCE_URL_LIMIT or not url.startswith(("http://", "https://")):
        return None
    return url


@dataclass(frozen=True)
class UpstreamPage:
    name: str
    files: tuple[Entry, ...]  # as listed, in upstream's order
    etag: str | None
    last_modified: str | None
    status: str | None = None  # PEP 792's project status (None: upstream said none)
    status_reason: str = ""


def project_status(status: object, reason: object) -> tuple[str | None, str]:
    """Upstream's PEP 792 status and reason as kept: an unknown status is none said, a
    reason is a string of at most STATUS_REASON_LIMIT characters (cut), only with a status."""
    status = getattr(status, "value", status)  # pypi-simple's ProjectStatus is a str enum
    if not isinstance(status, str) or status not in STATUSES:
        return None, ""
    reason = reason[:STATUS_REASON_LIMIT] if isinstance(reason, str) else ""
    return status, reason


class Upstream:
    """An HTTP client for upstream indexes: one pooled session, explicit timeouts."""

    def __init__(self, timeout: tuple[float, float], user_agent: str,
                 meters: Meters | None = None) -> None:
        self.timeout = timeout
        self.meters = meters if meters is not None else Meters()
        self.health = UpstreamHealth()  # what each upstream origin last did, for /+health
        self.session = requests.Session()
        self.session.headers["User-Agent"] = user_agent
        adapter = HTTPAdapter(pool_connections=16, pool_maxsize=32, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def get(self, url: str, *, stream: bool = True, headers: dict | None = None) -> requests.Response:
        """GET ``url``; raise UpstreamError naming the problem on timeouts and connection errors.

        Streamed by default: every caller reads the body itself, within a limit."""
        try:
            response = self.session.get(url, headers=headers, timeout=self.timeout, stream=stream)
        except requests.Timeout:
            raise self.failed(url, f"upstream {url} timed out (shop.upstream.timeout"
                                   f" {self.timeout})") from None
        except requests.RequestException as e:
            raise self.failed(url, f"cannot reach upstream {url}: {e.__class__.__name__}") from None
        if response.status_code >= 500:  # an answer, of a server that is not well
            self.failed(url, f"upstream {url} answered {response.status_code} {response.reason}")
        else:
            self.meters.note(UPSTREAM, outcome="ok")
            self.health.answered(url)
        return response

    def failed(self, url: str, message: str) -> UpstreamError:
        """Note a request to ``url`` that failed; the UpstreamError saying so (credentials in
        the URL left out: clients see the message), to raise."""
        self.meters.note(UPSTREAM, outcome="error")
        message = without_credentials(message)
        self.health.failed(url, message)
        return UpstreamError(message)

    def project_page(self, base_url: str, project: str, etag: str | None = None,
                     last_modified: str | None = None) -> UpstreamPage | None:
        """Upstream's page for ``project``; None when it is unchanged since ``etag``."""
        url = urljoin(base_url, project + "/")
        headers = {"Accept": ACCEPT_JSON_PREFERRED}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        with self.get(url, headers=headers, stream=True) as response:
            if response.status_code == 304:
                return None
            if response.status_code in (404, 410):
                raise UpstreamNotFound(project)
            if response.status_code != 200:
                raise UpstreamError(f"upstream {url} answered {response.status_code} {response.reason}")
            _read_bounded(response, url)
            self.meters.note(UPSTREAM_BYTES, len(response.content))
        try:
            page, base, status = _parse(response, project)
        except Exception as e:  # pypi-simple raises several kinds for unreadable pages
            raise UpstreamError(f"upstream {url} sent a page that cannot be read: {e}") from None
        files = tuple(f for f in (listed_entry(p, base, response.url) for p in page.packages)
                      if f is not None)
        if not files and not _an_index_page(response, page):
            raise UpstreamError(f"upstream {url} sent a page that lists no file and is no"
                                " simple index's project page (a captive portal, a login page?)")
        return UpstreamPage(
            name=_display_name(page.project, project),
            files=files,
            etag=response.headers.get("ETag"),
            last_modified=response.headers.get("Last-Modified"),
            status=status[0],
            status_reason=status[1],
        )


def _parse(response: requests.Response,
           project: str) -> tuple[ProjectPage, str | None, tuple[str | None, str]]:
    """The page pypi-simple reads from ``response``, the URL its files' URLs are still
    relative to (a JSON page's are left as sent, ``base_url=None``, and resolved by
    ``_resolved`` only where relative: a big project lists 15,000 absolute ones), and the
    project's status. The status is read here, not by pypi-simple: it refuses a whole page
    whose status it does not know, where a status unknown is only none said."""
    content_type, _, params = response.headers.get("Content-Type", "text/html").partition(";")
    content_type = content_type.strip().lower()
    if content_type == JSON_PAGE:
        data = response.json()
        said = data.pop("project-status", None) if isinstance(data, dict) else None
        said = said if isinstance(said, dict) else {}
        status = project_status(said.get("status"), said.get("reason"))
        return (ProjectPage.from_json_data(_absolute_provenance(data, response.url), None),
                response.url, status)
    if content_type not in ("text/html", "application/vnd.pypi.simple.v1+html"):
        raise UnsupportedContentTypeError(response.url, content_type)
    charset = re.search(r"charset=[\"']?([\w.:-]+)", params, re.I)
    page = RepositoryPage.from_html(response.content, response.url,
                                    charset.group(1) if charset else None)
    meta = page.pypi_meta
    status = project_status(next(iter(meta.get("project-status", ())), None),
                            next(iter(meta.get("project-status-reason", ())), None))
    packages = [DistributionPackage.from_link(link, project) for link in page.links]
    return ProjectPage(project=project, packages=packages,
                       repository_version=page.repository_version, last_serial=None), None, status


def _absolute_provenance(data, base: str):
    """``data`` (a JSON page) with its files' relative provenance URLs made absolute (as
    this index's own pages give them): pypi-simple takes only absolute ones, and refuses the
    whole page otherwise."""
    files = data.get("files") if isinstance(data, dict) else None
    for file in files if isinstance(files, list) else ():
        url = file.get("provenance") if isinstance(file, dict) else None
        if url is None:
            continue
        url = urljoin(base, url) if isinstance(url, str) else ""
        if url.startswith(("http://", "https://")) and len(url) <= PROVENANCE_URL_LIMIT:
            file["provenance"] = url
        else:  # what pypi-simple would refuse the page for: the file goes without it
            del file["provenance"]
    return data


def _an_index_page(response: requests.Response, page: ProjectPage) -> bool:
    """Whether a page listing no file is a simple index's project page (so its project has no
    files upstream: a takedown), not another server's page (a portal's: nothing is known).
    JSON pages are (pypi-simple read their ``meta``); HTML ones say ``pypi:repository-version``
    or, as PEP 503 indexes write them (PyPI, devpi, pypiserver), "Links for NAME"."""
    if page.repository_version is not None or "json" in response.headers.get("Content-Type", ""):
        return True
    return b"links for" in response.content[:4096].lower()


def _resolved(base: str | None, url: str) -> str:
    if base is None or _ABSOLUTE.match(url):
        return url
    return urljoin(base, url)


JSON_PAGE = "application/vnd.pypi.simple.v1+json"
_ABSOLUTE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


def _is_sha256(digest: str | None) -> bool:
    """Whether ``digest`` is absent or a sha256 in hex (anything else: a listing not to use)."""
    return digest is None or (len(digest) == 64 and not digest.strip(HEX_DIGITS))


HEX_DIGITS = "0123456789abcdefABCDEF"


def _within(value: str | None, limit: int) -> str | None:
    """``value`` if it is a non-empty string of at most ``limit`` characters, else None."""
    return value if value and len(value) <= limit else None


def _read_bounded(response: requests.Response, url: str) -> None:
    """Read the streamed ``response``'s body, decoded, into ``response.content``; at most
    PAGE_LIMIT bytes of it, or raise UpstreamError naming the limit."""
    try:
        data = response.raw.read(PAGE_LIMIT + 1, decode_content=True)
    except Exception as e:  # urllib3's errors: a broken connection, an undecodable body
        raise UpstreamError(f"upstream {url} sent a page that cannot be read:"
                            f" {e.__class__.__name__}") from None
    if len(data) > PAGE_LIMIT:
        raise UpstreamError(f"upstream {url} sent a project page over {PAGE_LIMIT} bytes"
                            " (decoded): refused")
    # requests' own place for a body it has read; pypi-simple parses from it.
    response._content = data
    response._content_consumed = True


def _display_name(spelled: str | None, project: str) -> str:
    """Upstream's spelling of ``project``'s name, if it is a valid name (within the limit) of
    this very project: it is shown on pages. Otherwise the name asked for."""
    if spelled and names.is_valid_name(spelled) and names.normalize(spelled) == names.normalize(project):
        return spelled
    return project
