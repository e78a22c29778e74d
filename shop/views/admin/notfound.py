"""The 404 page for a browser: the layout, what was not found, and a link to what exists."""
from __future__ import annotations

from dataclasses import dataclass

from pyramid.httpexceptions import HTTPNotFound
from pyramid.renderers import render

from shop.model.transient import UpstreamProject
from shop.model.root import Repositories, Root
from shop.model.tree import Package, Release, ReleaseFile, Repository
from shop.views import http_error
from shop.views.admin import template

NOT_FOUND = template("notfound.pt")


@dataclass(frozen=True)
class Missing:
    """What a URL names that does not exist, and the nearest page that does."""

    what: str  # "No project nosuch in repository default"
    back_label: str
    back_url: str


def missing(request) -> Missing:
    """What traversal did not find, said in the model's terms, from the deepest resource it
    found (the context) and the first name it could not find (the view name)."""
    context, name = getattr(request, "context", None), getattr(request, "view_name", "")
    back_label, back_url = nearest_page(request, context)
    if isinstance(context, UpstreamProject):  # not stored here, so no page of its own
        what = f"No project {context.__name__} in repository {context.__parent__.__name__}"
    elif name.startswith("+") and isinstance(context, Root):
        what = f"No page {name}"
    elif name.startswith("+"):
        what = f"{describe(request, context)} has no page {name}"
    elif isinstance(context, Repositories):
        what = f"No repository {name}"
    elif isinstance(context, Repository):
        what = f"No project {name} in repository {context.__name__}"
    elif isinstance(context, Package):
        what = f"Project {context.name} has no version {name}"
    elif isinstance(context, Release):
        what = f"{context.__parent__.name} {context.version} has no file {name}"
    else:
        what = f"Nothing at {request.path}"
    return Missing(what, back_label, back_url)


def describe(request, resource) -> str:
    """A resource as a person names it: "Repository default", "Project demo", or its path."""
    if isinstance(resource, Repository):
        return f"Repository {resource.__name__}"
    if isinstance(resource, Package):
        return f"Project {resource.name}"
    if isinstance(resource, Release):
        return f"{resource.__parent__.name} {resource.version}"
    if isinstance(resource, ReleaseFile):
        return f"File {resource.filename}"
    return request.resource_path(resource)


def nearest_page(request, context) -> tuple[str, str]:
    """(label, URL) of the admin page nearest to ``context``: its project's, its
    repository's, or the dashboard."""
    for resource in _lineage(context):
        if isinstance(resource, Package):
            return f"Back to project {resource.name}", request.resource_url(resource, "+browse")
        if isinstance(resource, Repository):
            return (f"Back to repository {resource.__name__}",
                    request.resource_url(resource, "+browse"))
    return "Back to the dashboard", request.application_url + "/"


def _lineage(resource):
    while resource is not None:
        yield resource
        resource = getattr(resource, "__parent__", None)


def not_found_page(request) -> HTTPNotFound:
    """A 404 in the admin's layout saying what was not found, with a link to the nearest
    page that exists; its reason phrase says what, as the page does."""
    found = missing(request)
    body = render(NOT_FOUND, {"missing": found}, request=request)
    return http_error(HTTPNotFound, found.what, body=body, content_type="text/html",
                      cache_control="private, no-store")
