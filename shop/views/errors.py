"""Answers for what traversal or the security policy refused: 401/403, 301 to canonical, 404."""
from __future__ import annotations

from urllib.parse import quote, urlencode

from pyramid.httpexceptions import (
    HTTPException,
    HTTPForbidden,
    HTTPMethodNotAllowed,
    HTTPFound,
    HTTPSeeOther,
    HTTPMovedPermanently,
    HTTPNotFound,
    HTTPServiceUnavailable,
    HTTPUnauthorized,
)
from pyramid.exceptions import PredicateMismatch
from pyramid.renderers import render_to_response
from pyramid.security import Denied
from pyramid.view import exception_view_config, forbidden_view_config, notfound_view_config
from ZODB.POSException import ConflictError

from .. import mirror, names, simple
from ..permissions import Permission
from ..resources import Package, Repository
from ..security import REALM
from . import READ, ensure_trailing_slash, http_error, traversed_url
from .pypi_json import latest_release, project_json
from .simple import current_package, negotiated, page_response


def is_browser_page(request) -> bool:
    """Admin pages are ``+``-named views (and the dashboard at ``/``); the rest is the API."""
    return request.view_name.startswith("+") or request.path_info == "/"


@forbidden_view_config()
def forbidden(request):
    """No or bad credentials: 401 with a Basic challenge (pip and twine then send some), or
    the login page for a browser; authenticated but not allowed: 403."""
    if isinstance(request.exception, HTTPForbidden) and request.exception.result is None:
        return request.exception  # a view's own refusal, which already says why
    if request.identity is None and is_browser_page(request):
        # A browser goes to the login page (after a POST, e.g. an expired session: 303).
        if request.method in READ:
            return HTTPFound(location=request.application_url + "/+login?" + urlencode(
                {"came_from": request.path_qs}
            ))
        return HTTPSeeOther(location=request.application_url + "/+login")
    if request.identity is None:
        if request.authorization is not None:
            message = "Invalid credentials: the user name or password is wrong, or the account is disabled."
        else:
            message = "Authentication required: send HTTP Basic credentials."
        return http_error(
            HTTPUnauthorized, message,
            headers={"WWW-Authenticate": f'Basic realm="{REALM}"'},
        )
    reason = getattr(request.exception, "result", None)
    # Our own Denied reasons are for people; an ACLDenied's would show ACL internals.
    why = f": {reason.msg}" if type(reason) is Denied and reason.msg else ""
    context = getattr(request, "context", None)
    if not why and isinstance(context, Repository) and request.method == "POST":
        name, user = context.__name__, request.identity.userid
        why = (
            f": {user} has no uploader role in repository {name}; an admin can grant one "
            f"(localshop -c INI repository set {name} --role user:{user}=uploader)"
        )
    return http_error(
        HTTPForbidden,
        f"Forbidden: {request.identity.userid} may not do this here ({request.path}){why}.",
    )


@notfound_view_config()
def notfound(request):
    """A project traversal did not find may be a non-canonical name, or one to look up upstream."""
    context = getattr(request, "context", None)
    if isinstance(request.exception, PredicateMismatch) and request.method not in READ:
        return http_error(HTTPMethodNotAllowed, f"Method not allowed: {request.method} {request.path}")
    if isinstance(context, Package):
        response = _canonical_version(context, request)
        if response is not None:
            return response
    if isinstance(context, Repository):
        try:
            response = missing_project(context, request)
        except HTTPException as e:  # raised inside an exception view: answer it here
            response = e
        if response is not None:
            return response
    return http_error(HTTPNotFound, f"Not found: {request.path}")


def missing_project(repository: Repository, request):
    """Redirect a project name to its canonical form, or look it up upstream.

    Returns None when the request is not for a project (the caller answers 404).
    """
    name, subpath = request.view_name, request.subpath
    if request.method not in READ or not names.is_valid_name(name) or subpath not in ((), ("json",)):
        return None
    canonical = names.normalize(name)
    might_exist = canonical in repository or mirror.mirrors(repository, None)
    if canonical != name:
        if not might_exist:
            return None
        location = traversed_url(request, canonical) + "/".join(subpath)
        if request.query_string:
            location += "?" + request.query_string
        return HTTPMovedPermanently(location=location)
    if not might_exist:
        return None
    if not request.has_permission(Permission.VIEW, repository):
        return forbidden(request)
    if subpath:  # /pypi/<project>/json
        package = current_package(request, repository, name)
        return render_to_response(
            "json", project_json(request, package, latest_release(package)), request=request
        )
    ensure_trailing_slash(request)
    content_type = negotiated(request)
    package = current_package(request, repository, name)
    page = simple.project_page(package, content_type, request.registry.page_cache)
    return page_response(request, page, mirror.fresh_until(request, repository, package))


@exception_view_config(ConflictError, last_retry_attempt=True)
def conflict(request):
    """Concurrent writers kept colliding and every retry was used up: ask to try again."""
    return http_error(
        HTTPServiceUnavailable,
        "Busy: concurrent changes to the same project collided; nothing was stored. Try again.",
        headers={"Retry-After": "1"},
    )


def _canonical_version(package: Package, request):
    """A 301 from a version as spelled (``1.0``) to its release's canonical key (``1``)."""
    try:
        key = names.version_key(request.view_name)
    except names.InvalidName:
        return None
    if key == request.view_name or key not in package or request.method not in READ:
        return None
    if request.subpath == ("json",):  # PyPI's JSON API answers for any spelling of a version
        return render_to_response(
            "json", project_json(request, package, package[key]), request=request
        )
    location = traversed_url(request, key)
    if request.subpath:
        location += "/".join(quote(s, safe="") for s in request.subpath)
    if request.query_string:
        location += "?" + request.query_string
    return HTTPMovedPermanently(location=location)
