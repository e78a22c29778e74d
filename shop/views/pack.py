"""``POST /+pack``: the running server packs its database (``localshop pack`` asks it to when
the server holds the embedded FileStorage's lock). Admins only, with their password over
HTTP Basic; like the upload endpoint it is for a program, not a form, so it takes no CSRF
token. The request's own thread waits for the pack; the other threads go on serving."""
from __future__ import annotations

from pyramid.authentication import extract_http_basic_credentials
from pyramid.httpexceptions import HTTPBadRequest, HTTPConflict
from pyramid.view import view_config

from shop.model.permissions import Permission
from shop.model.root import Root
from shop.operations.pack import PackError
from shop.views import http_error
from shop.views.admin import people_only
from shop.views.errors import unauthorized


def _days(request) -> float:
    raw = request.POST.get("days", request.GET.get("days", "0"))
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf"):
        raise http_error(HTTPBadRequest, f"days = {raw!r}: expected the days of history to"
                                         " keep, 0 or more")
    return value


@view_config(context=Root, name="+pack", request_method="POST", permission=Permission.ADMIN,
             require_csrf=False, renderer="json", decorator=people_only)
def pack(context: Root, request) -> dict:
    if extract_http_basic_credentials(request) is None:
        # Without a CSRF token, a browser's session cookie must not do: another site's form
        # could post here with it.
        raise unauthorized(request)
    days = _days(request)
    try:
        result = request.shop.packer.pack(days)
    except PackError as e:
        raise http_error(HTTPConflict, str(e)) from None
    return result.to_json()
