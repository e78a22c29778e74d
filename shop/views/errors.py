"""Answers for what traversal or the security policy refused: 401/403, 301 to canonical, 404."""
from __future__ import annotations

from pyramid.httpexceptions import HTTPForbidden, HTTPMovedPermanently, HTTPNotFound, HTTPUnauthorized
from pyramid.view import forbidden_view_config, notfound_view_config

from .. import names
from ..resources import Repository
from ..security import REALM
from . import http_error, traversed_url


@forbidden_view_config()
def forbidden(request):
    """No or bad credentials: 401 with a Basic challenge (pip and twine then send some); else 403."""
    if request.identity is None:
        if request.authorization is not None:
            message = "Invalid credentials: the user name or password is wrong, or the account is disabled."
        else:
            message = "Authentication required: send HTTP Basic credentials."
        return http_error(
            HTTPUnauthorized, message,
            headers={"WWW-Authenticate": f'Basic realm="{REALM}"'},
        )
    return http_error(
        HTTPForbidden,
        f"Forbidden: {request.identity.userid} may not do this here ({request.path}).",
    )


@notfound_view_config()
def notfound(request):
    """Redirect a project name that is not in canonical form; otherwise say what was not found."""
    context = getattr(request, "context", None)
    name = request.view_name
    if (
        isinstance(context, Repository)
        and name
        and not request.subpath
        and request.method in ("GET", "HEAD")
        and names.is_valid_name(name)
    ):
        canonical = names.normalize(name)
        if canonical != name and canonical in context:
            location = traversed_url(request, canonical)
            if request.query_string:
                location += "?" + request.query_string
            return HTTPMovedPermanently(location=location)
    return http_error(HTTPNotFound, f"Not found: {request.path}")
