"""Browsing: the dashboard, a repository's projects, a project's versions and files."""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from pyramid.httpexceptions import HTTPFound, HTTPNotFound

from shop.model import listing, names, repositories
from shop.model.folders import utcnow
from shop.model.offers import (STATUSES, Rules, hidden_upstream_files, is_visible, latest_release,
                               project_status)
from shop.model.permissions import Permission
from shop.model.root import Root
from shop.model.tree import Package, Release, ReleaseFile, Repository
from shop.views.sending import blob_response
from shop.pages.dashboard import dashboard_charts, days_shown, latest_uploads
from shop.views.admin import READ, page, template, viewable_repositories


def access_summary(repository: Repository) -> str:
    """Who may read the repository, in a few words: the one wording of every page."""
    if repository.anonymous_read:
        return "anyone, without a credential"
    if repository.read_networks:
        return ("anyone on the networks " + ", ".join(repository.read_networks)
                + " without a credential; everyone else only with a role and a credential")
    return "only people with a role, with a credential"


@page(context=Root, name="", renderer=template("dashboard.pt"), request_method=READ)
def dashboard(context: Root, request) -> dict:
    readable = viewable_repositories(request)
    rows = [
        {
            "repository": r,
            "stats": repositories.stats(r),
            "access": access_summary(r),
            "may_configure": bool(request.has_permission(Permission.MANAGE, r)),
        }
        for r in readable
    ]
    days = days_shown(request.params.get("days"))
    # The charts count every repository's traffic: only admins see them.
    admin = bool(request.identity and request.identity.admin)
    return {
        "rows": rows,
        "days": days,
        "interval": request.shop.settings.stats_interval,
        "charts": dashboard_charts(context.stats, utcnow().date(), days) if admin else [],
        "uploads": latest_uploads(context, {r.__name__ for r in readable}) if readable else [],
        "version_url": version_url,
    }


@page(context=Repository, name="+browse", renderer=template("repository.pt"),
      request_method=READ, permission=Permission.VIEW)
def repository_page(context: Repository, request) -> dict:
    query = request.params.get("q", "")[:200]
    projects, truncated = repositories.search(context, query)
    return {
        "repository": context,
        "query": query,
        # Counted for the rows shown only (at most search's limit), and free for mirrored ones.
        "projects": [(p, hidden_upstream_files(p)) for p in projects],
        "truncated": truncated,
        "access": access_summary(context),
        "index_url": request.resource_url(context),
        "may_configure": bool(request.has_permission(Permission.MANAGE, context)),
    }


@page(context=Release, name="+browse", request_method=READ, permission=Permission.VIEW)
def release_page(context: Release, request):
    """A version's page is its project's page, at that version (on the page that shows it)."""
    raise HTTPFound(location=version_url(request, context.__parent__, context.__name__))


def version_url(request, package: Package, key: str, number: int | None = None) -> str:
    """The project page's address that shows version ``key`` (its page, and its anchor)."""
    number = number if number is not None else listing.page_showing(package, key)
    query = {"page": number} if number > 1 else None
    return request.resource_url(package, "+browse", query=query) + "#v" + quote(key)


def page_number(request) -> int:
    """The ``page`` parameter: 1 when absent or not a number in ASCII digits (``int`` refuses
    some of what ``isdigit`` takes: ``²``)."""
    value = request.params.get("page", "1")
    return int(value) if value.isascii() and value.isdigit() and len(value) < 7 else 1


def web_links(metadata: dict) -> list[tuple[str, str]]:
    """(label, URL) of the project's http(s) links; other schemes are not made links."""
    pairs = []
    if metadata.get("home_page"):
        pairs.append(("Homepage", metadata["home_page"]))
    pairs += names.project_urls(metadata.get("project_urls"))
    return [(label, url) for label, url in pairs
            if isinstance(url, str) and urlsplit(url).scheme in ("http", "https")]


def licensing(metadata: dict) -> list[tuple[str, str]]:
    """(label, text) of the latest release's license and import names (core metadata 2.4, 2.5)."""
    rows = [("License", metadata.get("license_expression")),
            ("License files", metadata.get("license_files")),
            ("Import names", metadata.get("import_names")),
            ("Import namespaces", metadata.get("import_namespaces"))]
    return [(label, ", ".join(value) if isinstance(value, list) else value)
            for label, value in rows if value]


@dataclass(frozen=True)
class FileRow:
    file: object
    url: str
    visible: bool
    manageable: bool  # an uploaded file: yank and delete apply to it
    refused: str | None = None  # why the rules do not offer it (blocked, held back, gone)
    removed: object = None  # when upstream's listing was found without it (a mirrored file)
    inspect_url: str = ""  # its stored bytes, for admins (removed upstream: not served)


@page(context=Package, name="+browse", renderer=template("project.pt"),
      request_method=READ, permission=Permission.VIEW)
def project_page(context: Package, request) -> dict:
    repository: Repository = context.__parent__
    latest = latest_release(context)
    metadata = latest.metadata if latest is not None else {}
    versions = listing.version_page(context, page_number(request))
    rules = Rules(context)
    return {
        "repository": repository,
        "package": context,
        "latest": latest,
        "summary": metadata.get("summary") or "",
        "requires_python": metadata.get("requires_python") or "",
        "licensing": licensing(metadata),
        "links": web_links(metadata),
        "description": request.shop.descriptions.get(latest) if latest is not None else None,
        "releases": [release_rows(request, release, rules) for release in versions.releases],
        "status": (rules.status, rules.status_reason),
        "statuses": STATUSES,
        "versions": versions,
        "version_links": version_links(request.resource_url(context, "+browse"), versions),
        "page_url": lambda n: request.resource_url(context, "+browse", query={"page": n}),
        "hidden": hidden_upstream_files(context),
        # Upstream's PEP 792 status of a mirrored project (a hosted one's is its own).
        "upstream_status": project_status(context) if context.listing is not None else None,
        "keeps_deletions": repository.upstream_deletions == "keep",
        "merge_command": merge_command(repository, context.__name__),
        "index_url": request.resource_url(repository),
        "access": access_summary(repository),
        "needs_credential": not repository.anonymous_read,
        "may_manage": bool(request.has_permission(Permission.MANAGE, context)),
        "may_configure": bool(request.has_permission(Permission.MANAGE, repository)),
        "resource_url": request.resource_url,
    }


def merge_command(repository: Repository, key: str) -> str:
    """The command line that adds project ``key`` to the repository's merge allow-list."""
    allowed = ",".join(sorted({*repository.merge_allowed, key}))
    return f"localshop -c INI repository set {repository.__name__} --merge-allowed {allowed}"


def version_links(base: str, versions: listing.VersionPage) -> list[tuple[str, str]]:
    """(version, address) of every version, for the folded list: built from keys alone."""
    links = []
    for i, key in enumerate(versions.keys):
        number = versions.page_of(i)
        links.append((key, base + (f"?page={number}" if number > 1 else "") + "#v" + quote(key)))
    return links


def release_rows(request, release: Release,
                 rules: Rules | None = None) -> tuple[Release, list[FileRow], bool]:
    """A release, its files' rows, and whether it may be yanked or deleted here."""
    repository = release.__parent__.__parent__
    rules = rules if rules is not None else Rules(release.__parent__)
    admin = bool(request.identity and request.identity.admin)
    rows = []
    for f in sorted(release.files(), key=lambda f: f.filename):
        url = request.resource_url(release) + quote(f.filename)
        refusal = rules.file_refusal(f)
        removed = f.removed_upstream if f.origin == "mirror" else None
        inspect = url + "/+inspect" if removed is not None and admin and f.blob else ""
        rows.append(FileRow(f, url, is_visible(f, repository) and refusal is None,
                            repositories.manageable(f),
                            refusal.why if refusal else None,
                            removed, inspect))
    return release, rows, repositories.manageable(release)


@page(context=ReleaseFile, name="+inspect", request_method=READ, permission=Permission.ADMIN)
def inspect_file(context: ReleaseFile, request):
    """The stored bytes of a mirrored file, for an admin, whatever the rules say of it (one
    removed upstream is no longer served at its own URL: 410): as an attachment, not cached."""
    if context.blob is None or context.origin != "mirror":
        raise HTTPNotFound("Not found: only a mirrored file's stored bytes are inspected here.")
    response = blob_response(request, context.blob, sha256=context.sha256, size=context.size,
                             content_type="application/octet-stream", sendfile=None)
    response.cache_control = "private, no-store"
    response.content_disposition = f"attachment; filename={quote(context.filename)}"
    return response
