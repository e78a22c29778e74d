"""The kind of each request (page, file, metadata, upload, admin, api), told to the counting
in ``shop.wsgi`` as soon as traversal has found what the request is about."""
from __future__ import annotations

from pyramid.events import ContextFound, subscriber

from shop.meters import KIND
from shop.model.root import Root
from shop.model.transient import CoreMetadata, IProject, Provenance
from shop.model.tree import Release, ReleaseFile, Repository

MONITORING = ("+health", "+metrics")  # what watches the server is not its work


def kind_of(context, view_name: str, method: str) -> str:
    """What a request for ``view_name`` of ``context`` is, in REQUEST's ``kind`` label."""
    if view_name in MONITORING:
        return "other"
    if view_name.startswith("+") or isinstance(context, Root):  # the admin's pages and forms
        return "admin"
    if isinstance(context, ReleaseFile):
        return "file"
    if isinstance(context, (CoreMetadata, Provenance)):  # files beside a file
        return "metadata"
    if view_name == "json":
        return "api"
    if isinstance(context, Repository):
        return "upload" if method == "POST" else "page"
    if IProject.providedBy(context) or isinstance(context, Release):
        return "page"
    return "other"


@subscriber(ContextFound)
def note_kind(event) -> None:
    request = event.request
    request.environ[KIND] = kind_of(request.context, request.view_name, request.method)
