"""The simple repository API: PEP 503 HTML and PEP 691 JSON pages, rendered once per change.

Links on the pages are relative (``<version>/<filename>``), so one rendering serves every host
name, and ``/simple/`` as well as ``/repo/default/``. Rendered pages are kept in a
``PageCache`` shared by every thread of the process (never stored), keyed by a change counter
of the object they describe (``Package.serial``, ``Repository.serial``): every change bumps
the counter, and every process sees the new value in its next transaction.
"""
from __future__ import annotations

import datetime
import functools
import hashlib
import html
import json
from typing import Iterable, NamedTuple

from webob.acceptparse import create_accept_encoding_header, create_accept_header

from shop.model.offers import Rules, listed_only, rules_version, visible_files
from shop.pages.cache import Page, PageCache
from shop.model.tree import Package, ReleaseFile, Repository

TEXT_HTML = "text/html"
HTML_V1 = "application/vnd.pypi.simple.v1+html"
JSON_V1 = "application/vnd.pypi.simple.v1+json"
LATEST = {
    "application/vnd.pypi.simple.latest+html": HTML_V1,
    "application/vnd.pypi.simple.latest+json": JSON_V1,
}
# Server preference when the client has none: HTML, as pip before 22.2 expects.
OFFERS = [TEXT_HTML, HTML_V1, JSON_V1, *LATEST]
API_VERSION = "1.4"  # 1.3: provenance (PEP 740); 1.4: project status markers (PEP 792)


# Pages smaller than this are sent as they are: compressing them saves less than it costs.
GZIP_MIN_SIZE = 1024


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


def _page(body: str | bytes, content_type: str, expires: float | None = None) -> Page:
    data = body.encode("utf-8") if isinstance(body, str) else body
    if content_type == TEXT_HTML:
        content_type = "text/html; charset=utf-8"
    return Page(data, content_type, hashlib.sha256(data).hexdigest()[:32], expires)


def upload_time(file: ReleaseFile) -> str | None:
    """``yyyy-mm-ddThh:mm:ss.ffffffZ`` in UTC, as PEP 700 asks (None if upstream never said)."""
    return iso_time(file.upload_time) if file.upload_time is not None else None


def iso_time(when: datetime.datetime) -> str:
    """``when`` as ``yyyy-mm-ddThh:mm:ss.ffffffZ`` in UTC."""
    if when.utcoffset():
        when = when.astimezone(datetime.timezone.utc)
    return when.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"  # (C-fast)


def file_url(file: ReleaseFile) -> str:
    """The file's URL relative to its project page."""
    return f"{file.__parent__.__name__}/{file.filename}"


# --- project pages ----------------------------------------------------------------------


def project_page(package: Package, content_type: str, cache: PageCache) -> Page:
    """The project page in ``content_type``, rendered at most once per change of the package."""
    return cache.get(package, content_type, page_version(package),
                     lambda: _render_project(package, content_type))


def page_version(package: Package) -> tuple:
    """What a project page is rendered from: its change counter, (offline, a repository
    offers only cached files: the same counter shows another page) the repository's mode,
    and its rules (``offers.rules_version``: cooldown, blocks). A page whose cooldown holds a
    file back also expires when that file is old enough (``Page.expires``)."""
    repository = package.__parent__
    return (package.serial(), repository.offline, rules_version(repository))


def render_ahead(package: Package, cache: PageCache) -> None:
    """Render again, now, the pages of ``package`` that clients asked for before it changed:
    for changes made outside a request (the writer storing a file that told more than the
    listing), so that the next client does not wait for a big project's page."""
    for content_type in cache.content_types(package):
        page = project_page(package, content_type, cache)
        if len(page.body) >= GZIP_MIN_SIZE:
            page.gzipped  # noqa: B018 (compressed now, not by the next client)


def adopt_pages(package: Package, rendered: dict[str, Page], cache: PageCache) -> None:
    """Keep the pages ``rendered`` (by content type) of upstream's answer before it was stored
    as the pages of ``package``, the stored project showing the same, once the transaction
    that stores it commits: nothing is rendered twice."""
    version = page_version(package)
    for content_type, (rendered_at, page) in dict(rendered).items():
        if rendered_at[1:] == version[1:] and page.current:  # the same rules: the same page
            cache.get(package, content_type, version, lambda page=page: page)


class Row(NamedTuple):
    """What a project page says of one file."""

    version: str
    filename: str
    url: str  # relative to the project page
    sha256: str | None
    requires_python: str | None
    size: int | None
    upload_time: datetime.datetime | None
    yanked: bool
    yanked_reason: str
    metadata_sha256: str | None
    provenance: str | None  # its URL relative to the project page (PEP 740)


def _rows(package: Package, rules: Rules) -> list[Row]:
    """The page's files: straight from upstream's listing when it shows that alone (a
    mirrored project of 15,000 files makes no object per file), else from its files; those
    the rules refuse left out."""
    entries = listed_only(package)
    if entries is not None:
        # A file only listed has no provenance here yet: it comes with the file's bytes.
        refusal = rules.refusal
        offered = entries if rules.refuses_nothing_listed else \
            [e for e in entries if refusal("mirror", e[2], e[3], e[0], e[7]) is None]
        return [Row(e[3], e[0], f"{e[2]}/{e[0]}", e[5], e[8], e[6], e[7], e[9], e[10], e[11], None)
                for e in offered]
    return [_row(f, rules.listed) for f in visible_files(package, rules)]


def _row(f: ReleaseFile, listed: dict | None) -> Row:
    """What the page says of a file; of a mirrored record in a view of upstream's answer not
    stored yet (``listed``: its entries), what the answer says, as the writer makes it say."""
    provenance = file_url(f) + ".provenance" if f.provenance is not None else None
    entry = listed.get(f.__parent__.__name__, {}).get(f.filename) \
        if listed is not None and f.stored and f.origin == "mirror" else None
    if entry is None:
        return Row(f.__parent__.version, f.filename, file_url(f), f.sha256, f.requires_python,
                   f.size, f.upload_time, f.yanked, f.yanked_reason, f.core_metadata_sha256,
                   provenance)
    stored = f.blob is not None
    metadata = f.core_metadata_sha256 if f.core_metadata is not None else entry.metadata_sha256
    return Row(f.__parent__.version, f.filename, file_url(f), f.sha256 if stored else entry.sha256,
               entry.requires_python, f.size if stored else entry.size, f.upload_time,
               entry.yanked, entry.yanked_reason if entry.yanked else "", metadata, provenance)


def _render_project(package: Package, content_type: str) -> Page:
    rules = Rules(package)
    rows = _rows(package, rules)
    expires = rules.expires.timestamp() if rules.expires is not None else None
    status = (rules.status, rules.status_reason)
    if content_type == JSON_V1:
        return _page(_project_json(package, rows, status), JSON_V1, expires)
    return _page(_project_html(package, rows, status), content_type, expires)


def _project_json(package: Package, rows: list[Row], status: tuple[str, str]) -> str:
    page = {
        "meta": {"api-version": API_VERSION},
        "name": package.__name__,
        "versions": list(dict.fromkeys(row.version for row in rows)),
        "files": [_file_json(row) for row in rows],
    }
    if status[0] != "active" or status[1]:  # PEP 792: absent means active
        page["project-status"] = {"status": status[0], **({"reason": status[1]} if status[1] else {})}
    return json.dumps(page, separators=(",", ":"))


def _file_json(row: Row) -> dict:
    metadata = {"sha256": row.metadata_sha256} if row.metadata_sha256 else False
    entry = {
        "filename": row.filename,
        "url": row.url,
        "hashes": {"sha256": row.sha256} if row.sha256 else {},
        "requires-python": row.requires_python,
    }
    # A mirror of an HTML-only upstream may not know these until the file is fetched.
    if row.size is not None:
        entry["size"] = row.size
    if row.upload_time is not None:
        entry["upload-time"] = iso_time(row.upload_time)
    entry["yanked"] = (row.yanked_reason or True) if row.yanked else False
    entry["core-metadata"] = entry["dist-info-metadata"] = metadata
    if row.provenance is not None:  # PEP 740: absent (or null) for a file without
        entry["provenance"] = row.provenance
    return entry


def _project_html(package: Package, rows: list[Row], status: tuple[str, str]) -> str:
    name = html.escape(package.__name__)
    lines = [
        "<!DOCTYPE html>",
        "<html>",
        "  <head>",
        f'    <meta name="pypi:repository-version" content="{API_VERSION}">',
    ]
    if status[0] != "active" or status[1]:
        lines.append(f'    <meta name="pypi:project-status" content="{status[0]}">')
    if status[1]:
        lines.append(f'    <meta name="pypi:project-status-reason" content="{html.escape(status[1])}">')
    lines += [
        f"    <title>Links for {name}</title>",
        "  </head>",
        "  <body>",
        f"    <h1>Links for {name}</h1>",
    ]
    for file in rows:
        fragment = f"#sha256={file.sha256}" if file.sha256 else ""
        attrs = [f'href="{html.escape(file.url)}{fragment}"']
        if file.requires_python:
            attrs.append(f'data-requires-python="{html.escape(file.requires_python)}"')
        if file.yanked:
            attrs.append(f'data-yanked="{html.escape(file.yanked_reason or "")}"')
        if file.metadata_sha256:
            value = f"sha256={file.metadata_sha256}"
            attrs.append(f'data-core-metadata="{value}" data-dist-info-metadata="{value}"')
        if file.provenance is not None:
            attrs.append(f'data-provenance="{html.escape(file.provenance)}"')
        lines.append(f"    <a {' '.join(attrs)}>{html.escape(file.filename)}</a><br>")
    lines += ["  </body>", "</html>", ""]
    return "\n".join(lines)


# --- root pages -------------------------------------------------------------------------


def root_page(repository: Repository, content_type: str, cache: PageCache) -> Page:
    """The list of projects, rendered once per change of the project list (in each process)."""
    version = (repository.serial(), repository.approve_new_projects)
    return cache.get(repository, content_type, version,
                     lambda: _render_root(repository, content_type))


def _render_root(repository: Repository, content_type: str) -> Page:
    keys = list(repository.keys())  # normalized names: no package object is loaded
    # Awaiting approval: not offered yet (served, once the repository no longer approves).
    pending = repository.pending_projects if repository.approve_new_projects else None
    if pending:
        keys = [key for key in keys if key not in pending]
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
