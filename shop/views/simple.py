"""The simple index (PEP 503/691): repository root pages and project pages."""
from __future__ import annotations

from pyramid.httpexceptions import HTTPBadGateway, HTTPNotAcceptable, HTTPNotFound
from pyramid.response import Response
from pyramid.view import view_config

from .. import mirror, replay, simple
from ..permissions import Permission
from ..resources import Package, Repository
from . import READ, ensure_trailing_slash, http_error


def page_response(request, page: simple.Page, expires: float | None = None) -> Response:
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


def current_package(request, repository: Repository, name: str) -> Package:
    """The project, looked up upstream when the repository mirrors one; 404/502 otherwise."""
    try:
        package = mirror.lookup(request, repository, name)
    except mirror.UpstreamError as e:
        raise http_error(
            HTTPBadGateway, f"Upstream index failed and nothing is cached for {name}: {e}"
        ) from None
    if package is None:
        where = " nor upstream" if mirror.mirrors(repository, None) else ""
        raise http_error(HTTPNotFound, f"Not found: project {name} is not in this repository{where}.")
    return package


@view_config(context=Repository, request_method=READ, permission=Permission.VIEW)
def repository_index(context: Repository, request) -> Response:
    ensure_trailing_slash(request)
    page = simple.root_page(context, negotiated(request), request.registry.page_cache)
    return page_response(request, page)


@view_config(context=Package, request_method=READ, permission=Permission.VIEW)
def project_index(context: Package, request) -> Response:
    ensure_trailing_slash(request)
    content_type = negotiated(request)
    package = current_package(request, context.__parent__, context.__name__)
    page = simple.project_page(package, content_type, request.registry.page_cache)
    return page_response(request, page, mirror.fresh_until(request, context.__parent__, package))
