"""The simple index (PEP 503/691): repository root pages and project pages.

A project page's context is a stored ``Package`` or an ``UpstreamProject`` that traversal
yields for a name the mirror may know: both go through ``project_index`` and the same
permission check, and the mirror's look-up decides what the page shows.
"""
from __future__ import annotations

import time

from pyramid.events import ContextFound, subscriber
from pyramid.httpexceptions import (
    HTTPBadGateway,
    HTTPNotAcceptable,
    HTTPNotFound,
    HTTPServiceUnavailable,
)
from pyramid.response import Response
from pyramid.view import view_config
from pyramid_retry import RetryableException, is_last_attempt

from shop.mirror.lookup import fresh_until, lookup
from shop.mirror.upstream import UpstreamError
from shop.model.permissions import Permission
from shop.model.transient import CoreMetadata, IProject
from shop.model.tree import Package, ReleaseFile, Repository
from shop.pages import replay, simple
from shop.pages.cache import Page
from shop.views import READ, ensure_trailing_slash, http_error
from shop.views.awaiting import refuse_awaiting


def page_response(request, page: Page, expires: float | None = None) -> Response:
    """A rendered page with its ETag, gzip-encoded for clients that take it; webob answers
    If-None-Match with a 304. Offered for replay to the next identical anonymous request
    (until ``expires``, a ``time.monotonic()``, for pages that depend on upstream)."""
    body, etag = page.body, page.etag
    compressed = len(body) >= simple.GZIP_MIN_SIZE and simple.accepts_gzip(request)
    if compressed:
        body, etag = page.gzipped, page.etag + "-gzip"  # another representation, another tag
    response = Response(
        app_iter=replay.body_iterable(request.environ, body),
        headerlist=[("Content-Type", page.content_type)],
        content_length=len(body),
    )
    if compressed:
        response.content_encoding = "gzip"
    response.etag = etag
    response.vary = ("Accept", "Accept-Encoding")
    response.cache_control = "max-age=0, must-revalidate"
    response.conditional_response = True
    replay.offer(request, body, etag, expires)
    return response


def negotiated(request) -> str:
    content_type = simple.negotiate(request)
    if content_type is None:
        exc = http_error(
            HTTPNotAcceptable,
            "Not acceptable: this index answers in text/html, " + simple.HTML_V1
            + " and " + simple.JSON_V1 + ".",
        )
        exc.vary = ("Accept",)
        raise exc
    return content_type


def current_package(request, project) -> Package:
    """The project (a traversal context), looked up upstream when its repository mirrors one;
    404/502 otherwise (404 too while it awaits approval)."""
    repository: Repository = project.__parent__
    name, shop = project.__name__, request.shop
    try:
        package = lookup(repository, name, upstream=shop.upstream, state=shop.mirror_state,
                         ttl=shop.settings.index_ttl, writer=shop.writer, pages=shop.pages)
    except UpstreamError as e:
        raise http_error(
            HTTPBadGateway, f"Upstream index failed and nothing is cached for {name}: {e}"
        ) from None
    if package is None:
        where = " nor upstream" if repository.mirrors(None) else ""
        raise http_error(HTTPNotFound, f"Not found: project {name} is not in this repository{where}.")
    refuse_awaiting(request, package)
    return package


# How long a request for a file waits for the writer to store its project's new listing.
PENDING_PATIENCE = 10.0


class ListingPending(RetryableException):
    """The request's snapshot predates its project's listing, just stored: asked again."""


@subscriber(ContextFound)
def wait_for_pending_listing(event) -> None:
    """A file (or version) of a project whose new upstream answer was served from memory a
    moment ago and is being stored: its URL is not in this request's snapshot yet, so the
    request waits for the writer, then runs again in a new transaction that sees it
    (``pyramid_retry``)."""
    request = event.request
    context = request.context
    if isinstance(context, (ReleaseFile, CoreMetadata)):
        return _wait_for_file(request, context)
    name = request.view_name  # a version (or file) traversal did not find, or a page's name
    if not IProject.providedBy(context) or name in ("", "json"):
        return
    if isinstance(context, Package) and name.startswith("+"):
        return  # a page of the stored project (its admin pages): no listing is waited for
    if isinstance(context.__parent__, Repository):
        retry_when_pending(request, context.__parent__, context.__name__)


def _wait_for_file(request, context: ReleaseFile | CoreMetadata) -> None:
    """A mirrored file this request's snapshot has, of a project whose new answer is being
    stored: what it says of the file (removed upstream, yanked, quarantined) is in the
    answer, not yet in this snapshot. (Only a download, not a page of the admin.)"""
    file = context.file if isinstance(context, CoreMetadata) else context
    release = file.__parent__
    package = release.__parent__ if release is not None else None
    if file.origin == "mirror" and request.view_name == "" and isinstance(package, Package) \
            and isinstance(package.__parent__, Repository):
        retry_when_pending(request, package.__parent__, package.__name__)


def retry_when_pending(request, repository: Repository, name: str) -> None:
    """Wait for the writer, then have the request run again in a new transaction, when
    ``name``'s new upstream answer is being stored: this request's snapshot predates it."""
    stored = repository.get(name)
    if request.shop.mirror_state.pending(repository, name, stored) is None:
        return
    stored_now = request.shop.writer.wait_for((repository.__name__, name), PENDING_PATIENCE)
    if not is_last_attempt(request):
        raise ListingPending(f"the listing of {name} is being stored")
    if not stored_now:  # the database stays busy: the client is to ask again, not told "404"
        exc = http_error(HTTPServiceUnavailable, f"Service unavailable: upstream's listing of"
                         f" {name} is still being stored (the database is busy); try again.")
        exc.retry_after = int(PENDING_PATIENCE)
        raise exc


@view_config(context=Repository, request_method=READ, permission=Permission.VIEW)
def repository_index(context: Repository, request) -> Response:
    ensure_trailing_slash(request)
    page = simple.root_page(context, negotiated(request), request.shop.pages)
    return page_response(request, page)


@view_config(context=IProject, request_method=READ, permission=Permission.VIEW)
def project_index(context, request) -> Response:
    ensure_trailing_slash(request)
    content_type = negotiated(request)
    package = current_package(request, context)
    page = simple.project_page(package, content_type, request.shop.pages)
    shop = request.shop
    expires = fresh_until(shop.mirror_state, shop.settings.index_ttl, package.__parent__, package)
    if page.expires is not None:  # a file the cooldown holds back is offered then
        until = time.monotonic() + (page.expires - time.time())
        expires = until if expires is None else min(expires, until)
    return page_response(request, page, expires)
