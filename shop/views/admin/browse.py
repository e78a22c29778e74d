"""Browsing: the dashboard, a repository's projects, a project's versions and files."""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from pyramid.httpexceptions import HTTPFound

from shop.model import names, repositories
from shop.model.offers import is_visible, latest_release
from shop.model.permissions import Permission
from shop.model.tree import Package, Release, Repository, Root
from shop.views.admin import READ, page, template, viewable_repositories


def access_summary(repository: Repository) -> str:
    """Who may read the repository without a role, in a few words."""
    if repository.anonymous_read:
        return "anyone"
    if repository.read_networks:
        return "networks " + ", ".join(repository.read_networks)
    return "private"


@page(context=Root, name="", renderer=template("dashboard.pt"), request_method=READ)
def dashboard(context: Root, request) -> dict:
    rows = [
        {
            "repository": r,
            "stats": repositories.stats(r),
            "access": access_summary(r),
            "may_configure": bool(request.has_permission(Permission.MANAGE, r)),
        }
        for r in viewable_repositories(request)
    ]
    return {"rows": rows}


@page(context=Repository, name="+browse", renderer=template("repository.pt"),
      request_method=READ, permission=Permission.VIEW)
def repository_page(context: Repository, request) -> dict:
    query = request.params.get("q", "")[:200]
    projects, truncated = repositories.search(context, query)
    return {
        "repository": context,
        "query": query,
        "projects": projects,
        "truncated": truncated,
        "access": access_summary(context),
        "index_url": request.resource_url(context),
        "may_configure": bool(request.has_permission(Permission.MANAGE, context)),
    }


@page(context=Release, name="+browse", request_method=READ, permission=Permission.VIEW)
def release_page(context: Release, request):
    """A version's page is its project's page, at that version."""
    raise HTTPFound(location=request.resource_url(context.__parent__, "+browse")
                    + "#v" + quote(context.__name__))


def web_links(metadata: dict) -> list[tuple[str, str]]:
    """(label, URL) of the project's http(s) links; other schemes are not made links."""
    pairs = []
    if metadata.get("home_page"):
        pairs.append(("Homepage", metadata["home_page"]))
    pairs += names.project_urls(metadata.get("project_urls"))
    return [(label, url) for label, url in pairs
            if isinstance(url, str) and urlsplit(url).scheme in ("http", "https")]


@dataclass(frozen=True)
class FileRow:
    file: object
    url: str
    visible: bool


@page(context=Package, name="+browse", renderer=template("project.pt"),
      request_method=READ, permission=Permission.VIEW)
def project_page(context: Package, request) -> dict:
    repository: Repository = context.__parent__
    latest = latest_release(context)
    metadata = latest.metadata if latest is not None else {}
    index_url = request.resource_url(repository)
    releases = [
        (release, [
            FileRow(f, request.resource_url(release) + quote(f.filename), is_visible(f, repository))
            for f in sorted(release.values(), key=lambda f: f.filename)
        ])
        for release in context.releases()
    ]
    return {
        "repository": repository,
        "package": context,
        "latest": latest,
        "summary": metadata.get("summary") or "",
        "requires_python": metadata.get("requires_python") or "",
        "links": web_links(metadata),
        "description": request.shop.descriptions.get(latest) if latest is not None else None,
        "releases": releases,
        "index_url": index_url,
        "private": not repository.anonymous_read,
        "may_manage": bool(request.has_permission(Permission.MANAGE, context)),
        "resource_url": request.resource_url,
    }
