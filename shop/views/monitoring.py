"""``GET /+health`` (anyone: is this process able to serve) and ``GET /+metrics`` (admins,
and clients on ``shop.metrics.networks``: Prometheus's text format)."""
from __future__ import annotations

import json

from pyramid.httpexceptions import HTTPForbidden, HTTPServiceUnavailable
from pyramid.response import Response
from pyramid.view import view_config

from shop.access.policy import in_networks
from shop.model.permissions import Permission
from shop.model.root import Root
from shop.monitoring.health import health
from shop.version import __version__
from shop.views import READ, http_error

NOT_STORED = "no-store"  # each answer is of its moment: no cache keeps it


@view_config(context=Root, name="+health", request_method=READ)
def health_view(context: Root, request) -> Response:
    shop = request.shop
    report, ok = health(shop.probe, shop.upstream.health, shop.settings.health_low_disk,
                        __version__, shop.metrics.process, detailed=may_watch(request),
                        notices=shop.changes)
    body = json.dumps(report, indent=2) + "\n"
    if not ok:
        raise http_error(HTTPServiceUnavailable, f"Service unavailable: {report['storage']['error']}",
                         body=body, content_type="application/json", cache_control=NOT_STORED)
    return Response(body, content_type="application/json", charset="utf-8",
                    cache_control=NOT_STORED)


@view_config(context=Root, name="+metrics", request_method=READ)
def metrics_view(context: Root, request) -> Response:
    shop = request.shop
    if not may_watch(request):
        raise http_error(HTTPForbidden, "Forbidden: the metrics are for admins (log in, or send"
                         " an admin's HTTP Basic credentials) and for clients on the networks of"
                         f" shop.metrics.networks; {request.remote_addr or 'this client'} is"
                         " neither.")
    body, content_type = shop.metrics.exposition(request.headers.get("Accept"))
    response = Response(body, cache_control=NOT_STORED, vary=("Accept",))
    response.headers["Content-Type"] = content_type
    return response


def may_watch(request) -> bool:
    """Whether the client sees what is inside: admins, and clients on shop.metrics.networks
    (the metrics; the repositories' part of /+health, whose names private ones may not show)."""
    return (in_networks(request.remote_addr, request.shop.settings.metrics_networks)
            or bool(request.has_permission(Permission.ADMIN, request.root)))
