"""The simple index (PEP 503/691): repository root pages and project pages."""
from __future__ import annotations

import io

from pyramid.httpexceptions import HTTPBadGateway, HTTPNotAcceptable, HTTPNotFound
from pyramid.response import Response
from pyramid.view import view_config

from .. import mirror, simple
from ..permissions import Permission
from ..resources import Package, Repository
from . import READ, ensure_trailing_slash, http_error


# Bodies above this go to waitress as a file: it sends them without copying them into its
# output buffer first (a 20,000-project root page is a megabyte).
LARGE_BODY = 64 * 1024


def page_response(request, page: simple.Page) -> Response:
    """A rendered page with its ETag, gzip-encoded for clients that take it; webob answers
    If-None-Match with a 304."""
    body, etag = page.body, page.etag
    compressed = len(body) >= simple.GZIP_MIN_SIZE and simple.accepts_gzip(request)
    if compressed:
        body, etag = page.gzipped, page.etag + "-gzip"  # another representation, another tag
    wrapper = request.environ.get("wsgi.file_wrapper")
    if wrapper is not None and len(body) > LARGE_BODY:
        response = Response(
            app_iter=wrapper(io.BytesIO(body), LARGE_BODY),
            headerlist=[("Content-Type", page.content_type)],
            content_length=len(body),
        )
    else:
        response = Response(body=body, headerlist=[("Content-Type", page.content_type)])
    if compressed:
        response.content_encoding = "gzip"
    response.etag = etag
    response.vary = ("Accept", "Accept-Encoding")
    response.cache_control = "max-age=0, must-revalidate"
    response.conditional_response = True
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
    return page_response(request, page)
