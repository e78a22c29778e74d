"""The simple repository API: PEP 503 HTML and PEP 691 JSON pages, rendered once per change.

Links on the pages are relative (``<version>/<filename>``), so one rendering serves every host
name, and ``/simple/`` as well as ``/repo/default/``. Rendered pages are kept in a
``PageCache`` shared by every thread of the process (never stored), keyed by a change counter
of the object they describe (``Package.serial``, ``Repository.serial``): every change bumps
the counter, and every process sees the new value in its next transaction.
"""
from __future__ import annotations

import functools
import gzip
import hashlib
import html
import json
from dataclasses import dataclass
from typing import Callable, Hashable, Iterable

from webob.acceptparse import create_accept_encoding_header, create_accept_header

from . import names
from .lru import BoundedLRU
from .mirror import is_visible
from .resources import Package, ReleaseFile, Repository

TEXT_HTML = "text/html"
HTML_V1 = "application/vnd.pypi.simple.v1+html"
JSON_V1 = "application/vnd.pypi.simple.v1+json"
LATEST = {
    "application/vnd.pypi.simple.latest+html": HTML_V1,
    "application/vnd.pypi.simple.latest+json": JSON_V1,
}
# Server preference when the client has none: HTML, as pip before 22.2 expects.
OFFERS = [TEXT_HTML, HTML_V1, JSON_V1, *LATEST]
API_VERSION = "1.1"


# Pages smaller than this are sent as they are: compressing them saves less than it costs.
GZIP_MIN_SIZE = 1024


@dataclass(frozen=True)
class Page:
    body: bytes
    content_type: str
    etag: str

    @functools.cached_property
    def gzipped(self) -> bytes:
        """The body compressed with gzip, made on first use and kept with the page."""
        return gzip.compress(self.body, compresslevel=6, mtime=0)


class PageCache:
    """Rendered pages shared by every thread, and so every ZODB connection, of a process.

    A page is kept under the oid of the object it shows and its content type, with the
    version it was rendered from (the object's change counter, and what else changes the
    page). A page rendered in a transaction that changed the counter (a mirror lookup that
    learnt something new, say) is kept only once that transaction has committed the counter
    as it was rendered: it may still abort, or commit a merge with a concurrent change.
    Least recently used pages go first once ``max_bytes`` of bodies are kept.
    """

    def __init__(self, max_bytes: int) -> None:
        self._pages: BoundedLRU[tuple[Hashable, Page]] = BoundedLRU(
            max_bytes, lambda entry: len(entry[1].body)
        )

    def get(self, obj, content_type: str, version: Hashable, render: Callable[[], Page]) -> Page:
        counter = obj.serial
        committed = obj._p_oid is not None and counter._p_oid is not None and not counter._p_changed
        if committed:
            hit = self._pages.get((obj._p_oid, content_type))
            if hit is not None and hit[0] == version:
                return hit[1]
        page = render()
        if committed:
            self._pages.put((obj._p_oid, content_type), (version, page))
        else:
            jar = _jar(obj)
            if jar is not None:
                jar.transaction_manager.get().addAfterCommitHook(
                    self._after_commit, (obj, counter, content_type, version, page)
                )
        return page

    def _after_commit(self, success: bool, obj, counter, content_type: str, version: Hashable,
                      page: Page) -> None:
        # A conflict resolved at commit (a concurrent change merged in) leaves the counter a
        # ghost; so does the cache's clean-up after a commit of thousands of objects. Neither
        # is loaded here: the connection does not see its own commit until its next transaction.
        if success and counter._p_changed is False:
            self._pages.put((obj._p_oid, content_type), (version, page))

    def content_types(self, obj) -> list[str]:
        """The content types of the pages kept for ``obj``, of any version."""
        return [content_type for oid, content_type in self._pages.keys() if oid == obj._p_oid]

    @property
    def size(self) -> int:
        """Bytes of page bodies kept."""
        return self._pages.size

    @property
    def max_bytes(self) -> int:
        return self._pages.max_bytes


def _jar(obj):
    """The ZODB connection of ``obj``, or of its nearest stored ancestor (new objects have none)."""
    while obj is not None and obj._p_jar is None:
        obj = getattr(obj, "__parent__", None)
    return obj._p_jar if obj is not None else None


def negotiate(request) -> str | None:
    """The content type to answer with (PEP 691), or None when nothing offered is acceptable."""
    wanted = request.GET.get("format") if request.query_string else None
    if wanted:
        wanted = wanted.strip().replace(" ", "+")  # an unencoded "+" arrives as a space
        return LATEST.get(wanted, wanted) if wanted in OFFERS else None
    return _best_offer(request.headers.get("Accept"))


@functools.lru_cache(maxsize=256)
def _best_offer(accept: str | None) -> str | None:
    # Clients send the same few Accept headers on every request: parse each once.
    acceptable = create_accept_header(accept).acceptable_offers(OFFERS)
    if not acceptable:
        return None
    best = acceptable[0][0]
    return LATEST.get(best, best)


def accepts_gzip(request) -> bool:
    """Whether the client takes a gzip-encoded body (pip and uv do)."""
    return _takes_gzip(request.headers.get("Accept-Encoding"))


@functools.lru_cache(maxsize=256)
def _takes_gzip(accept_encoding: str | None) -> bool:
    if not accept_encoding:
        return False
    return bool(create_accept_encoding_header(accept_encoding).acceptable_offers(["gzip"]))


def _page(body: str | bytes, content_type: str) -> Page:
    data = body.encode("utf-8") if isinstance(body, str) else body
    if content_type == TEXT_HTML:
        content_type = "text/html; charset=utf-8"
    return Page(data, content_type, hashlib.sha256(data).hexdigest()[:32])


def upload_time(file: ReleaseFile) -> str | None:
    """``yyyy-mm-ddThh:mm:ss.ffffffZ`` in UTC, as PEP 700 asks (None if upstream never said)."""
    if file.upload_time is None:
        return None
    return file.upload_time.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def file_url(file: ReleaseFile) -> str:
    """The file's URL relative to its project page."""
    return f"{file.__parent__.__name__}/{file.filename}"


# --- project pages ----------------------------------------------------------------------


def visible_files(package: Package) -> list[ReleaseFile]:
    """The files a project page lists, sorted by version then filename."""
    repository = package.__parent__
    files = [f for f in package.files() if is_visible(f, repository)]
    files.sort(key=lambda f: (names.sort_key(f.__parent__.version), f.filename))
    return files


def project_page(package: Package, content_type: str, cache: PageCache) -> Page:
    """The project page in ``content_type``, rendered at most once per change of the package."""
    # Offline, a repository offers only cached files: the same serial shows another page.
    version = (package.serial(), package.__parent__.offline)
    return cache.get(package, content_type, version, lambda: _render_project(package, content_type))


def render_ahead(package: Package, cache: PageCache) -> None:
    """Render again, now, the pages of ``package`` that clients asked for before it changed.

    For changes made outside a request (a mirrored file stored in the background), so that
    the next client does not wait for a big project's page.
    """
    for content_type in cache.content_types(package):
        page = project_page(package, content_type, cache)
        if len(page.body) >= GZIP_MIN_SIZE:
            page.gzipped  # noqa: B018 (compressed now, not by the next client)


def _render_project(package: Package, content_type: str) -> Page:
    files = visible_files(package)
    if content_type == JSON_V1:
        return _page(_project_json(package, files), JSON_V1)
    return _page(_project_html(package, files), content_type)


def _project_json(package: Package, files: list[ReleaseFile]) -> str:
    return json.dumps(
        {
            "meta": {"api-version": API_VERSION},
            "name": package.__name__,
            "versions": list(dict.fromkeys(f.__parent__.version for f in files)),
            "files": [_file_json(f) for f in files],
        },
        separators=(",", ":"),
    )


def _file_json(file: ReleaseFile) -> dict:
    metadata = {"sha256": file.core_metadata_sha256} if file.core_metadata_sha256 else False
    entry = {
        "filename": file.filename,
        "url": file_url(file),
        "hashes": {"sha256": file.sha256} if file.sha256 else {},
        "requires-python": file.requires_python,
        "size": file.size,
        "upload-time": upload_time(file),
        "yanked": (file.yanked_reason or True) if file.yanked else False,
        "core-metadata": metadata,
        "dist-info-metadata": metadata,
    }
    # A mirror of an HTML-only upstream may not know these until the file is fetched.
    for key in ("size", "upload-time"):
        if entry[key] is None:
            del entry[key]
    return entry


def _project_html(package: Package, files: list[ReleaseFile]) -> str:
    name = html.escape(package.__name__)
    lines = [
        "<!DOCTYPE html>",
        "<html>",
        "  <head>",
        f'    <meta name="pypi:repository-version" content="{API_VERSION}">',
        f"    <title>Links for {name}</title>",
        "  </head>",
        "  <body>",
        f"    <h1>Links for {name}</h1>",
    ]
    for file in files:
        fragment = f"#sha256={file.sha256}" if file.sha256 else ""
        attrs = [f'href="{html.escape(file_url(file))}{fragment}"']
        if file.requires_python:
            attrs.append(f'data-requires-python="{html.escape(file.requires_python)}"')
        if file.yanked:
            attrs.append(f'data-yanked="{html.escape(file.yanked_reason or "")}"')
        if file.core_metadata_sha256:
            value = f"sha256={file.core_metadata_sha256}"
            attrs.append(f'data-core-metadata="{value}" data-dist-info-metadata="{value}"')
        lines.append(f"    <a {' '.join(attrs)}>{html.escape(file.filename)}</a><br>")
    lines += ["  </body>", "</html>", ""]
    return "\n".join(lines)


# --- root pages -------------------------------------------------------------------------


def root_page(repository: Repository, content_type: str, cache: PageCache) -> Page:
    """The list of projects, rendered once per change of the project list (in each process)."""
    return cache.get(repository, content_type, repository.serial(),
                     lambda: _render_root(repository, content_type))


def _render_root(repository: Repository, content_type: str) -> Page:
    keys = list(repository.keys())  # normalized names: no package object is loaded
    if content_type == JSON_V1:
        return _page(_root_json(keys), JSON_V1)
    return _page(_root_html(keys), content_type)


def _root_json(keys: Iterable[str]) -> str:
    return json.dumps(
        {"meta": {"api-version": API_VERSION}, "projects": [{"name": k} for k in keys]},
        separators=(",", ":"),
    )


def _root_html(keys: Iterable[str]) -> str:
    head = (
        "<!DOCTYPE html>\n<html>\n  <head>\n"
        f'    <meta name="pypi:repository-version" content="{API_VERSION}">\n'
        "    <title>Simple index</title>\n  </head>\n  <body>\n"
    )
    links = "".join(f'    <a href="{k}/">{k}</a><br>\n' for k in keys)
    return head + links + "  </body>\n</html>\n"
