"""Downloads: files, their core metadata and provenance, as ``shop.mirror.serving`` decides.

A stored file is sent from its blob (``shop.views.sending``); a mirrored file not cached yet
is streamed while upstream sends it, or the client is redirected upstream; what cannot be
served is a 404 or 502 that says why.
"""
from __future__ import annotations

from pyramid.httpexceptions import (HTTPBadGateway, HTTPForbidden, HTTPFound, HTTPGone,
                                    HTTPNotFound)
from pyramid.response import Response
from pyramid.view import view_config

from shop.meters import DOWNLOAD, REFUSED
from shop.mirror import serving
from shop.model.permissions import Permission
from shop.model.transient import CoreMetadata, Provenance
from shop.model.tree import ReleaseFile, repository_of
from shop.views import READ, http_error
from shop.views.awaiting import refuse_awaiting
from shop.views.sending import IMMUTABLE, blob_response


@view_config(context=ReleaseFile, request_method=READ, permission=Permission.VIEW)
def download(context: ReleaseFile, request) -> Response:
    refuse_awaiting(request, context.__parent__.__parent__, download=True)
    shop = request.shop
    how = _decide(request, serving.serve_file, context, shop.downloads,
                  shop.settings.upstream_timeout)
    if context.origin == "mirror":  # retention evicts the least recently downloaded first
        shop.download_times.seen(context)
    if request.method == "GET":  # a HEAD downloads nothing
        shop.meters.note(DOWNLOAD, repository=repository_of(context).__name__,
                         origin="mirrored" if context.origin == "mirror" else "hosted",
                         cache="hit" if isinstance(how, serving.FromBlob) else "miss")
    response = _response(request, how)
    if isinstance(how, serving.FromBlob) and context.upload_time is not None:
        response.last_modified = context.upload_time
    return response


@view_config(context=CoreMetadata, request_method=READ, permission=Permission.VIEW)
def core_metadata(context: CoreMetadata, request) -> Response:
    refuse_awaiting(request, context.file.__parent__.__parent__, download=True)
    return _response(request, _decide(request, serving.serve_metadata, context.file,
                                      request.shop.metadata_fetches))


@view_config(context=Provenance, request_method=READ, permission=Permission.VIEW)
def provenance(context: Provenance, request) -> Response:
    return _response(request, _decide(request, serving.serve_provenance, context.file))


def _decide(request, decide, file, *args):
    """What ``decide`` (a ``shop.mirror.serving`` function) says of ``file``, or its reason
    as a 403/404/410/502 (a refusal by the supply-chain rules counted)."""
    try:
        return decide(file, *args)
    except serving.Unavailable as e:
        if e.rule:
            request.shop.meters.note(REFUSED, repository=repository_of(file).__name__,
                                     rule=e.rule)
        raise http_error(REFUSALS.get(e.status, HTTPNotFound), e.message) from None


REFUSALS = {403: HTTPForbidden, 410: HTTPGone, 502: HTTPBadGateway}


def _response(request, how) -> Response:
    """The response for what ``shop.mirror.serving`` decided."""
    if isinstance(how, serving.Redirect):
        raise HTTPFound(location=how.url)
    if isinstance(how, serving.FromBlob):
        return blob_response(request, how.blob, sha256=how.sha256, size=how.size,
                             content_type=how.content_type, sendfile=request.shop.settings.sendfile)
    response = Response(app_iter=how.body, headerlist=[("Content-Type", how.content_type)])
    if how.size is not None:
        response.content_length = how.size
    if how.sha256:
        response.etag = how.sha256
    if how.immutable:
        response.cache_control = IMMUTABLE
    return response
