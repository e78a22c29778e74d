"""Answers for what traversal or the security policy refused: 401/403, 301 to canonical, 404;
a 503 when concurrent writers kept colliding, and a 507 when the disk had no room."""
from __future__ import annotations

from urllib.parse import quote, urlencode

from pyramid.httpexceptions import (
    HTTPBadRequest,
    HTTPForbidden,
    HTTPInsufficientStorage,
    HTTPMethodNotAllowed,
    HTTPFound,
    HTTPSeeOther,
    HTTPMovedPermanently,
    HTTPNotFound,
    HTTPServiceUnavailable,
    HTTPTooManyRequests,
    HTTPUnauthorized,
)
from pyramid.exceptions import BadCSRFOrigin, BadCSRFToken, PredicateMismatch
from pyramid.authentication import extract_http_basic_credentials
from pyramid.events import ContextFound, subscriber
from pyramid.security import Denied
from pyramid.view import exception_view_config, forbidden_view_config, notfound_view_config
from ZODB.POSException import ConflictError

from shop.access.login import THROTTLED
from shop.access.policy import REALM
from shop.hosting.errors import INSUFFICIENT_STORAGE, is_disk_full
from shop.model import names
from shop.model.transient import VersionSpelling
from shop.model.permissions import Permission
from shop.model.tree import Repository, repository_of
from shop.views import READ, http_error, traversed_url
from shop.views.admin.notfound import not_found_page


# ``+``-named views that are for programs, not people (``localshop pack``'s ``POST /+pack``).
API_VIEWS = ("+pack",)


def is_browser_page(request) -> bool:
    """Admin pages are ``+``-named views (and the dashboard at ``/``) but ``API_VIEWS``; the
    rest is the API."""
    # Any ``+`` segment past the context, not only the view name: ``/repo/r/nope/+browse``
    # (no such project) is a browser page exactly as ``/repo/r/demo/+browse`` is.
    if request.view_name in API_VIEWS and not request.subpath:
        return False
    rest = (request.view_name, *request.subpath)
    return any(s.startswith("+") for s in rest) or request.path_info == "/"


def wants_page(request) -> bool:
    """A browser page asked for by a client that takes HTML (a browser, or one that sends
    no Accept) rather than plain text (``curl -H 'Accept: text/plain'``)."""
    if not is_browser_page(request):
        return False
    offers = request.accept.acceptable_offers(["text/html", "text/plain"])
    return bool(offers) and offers[0][0] == "text/html"


def refusal(request, reason: object = None, hint: str = ""):
    """No or bad credentials: 401 with a Basic challenge (pip and twine then send some), or
    the login page for a browser; authenticated but not allowed: 403 saying why."""
    if request.identity is None and is_browser_page(request):
        # A browser goes to the login page (after a POST, e.g. an expired session: 303).
        if request.method in READ:
            return HTTPFound(location=request.application_url + "/+login?" + urlencode(
                {"came_from": request.path_qs}
            ))
        return HTTPSeeOther(location=request.application_url + "/+login")
    if request.identity is None:
        return unauthorized(request)
    # Our own Denied reasons are for people; an ACLDenied's would show ACL internals.
    why = f": {reason.msg}" if type(reason) is Denied and reason.msg else hint
    return http_error(
        HTTPForbidden,
        f"Forbidden: {request.identity.userid} may not do this here ({request.path}){why}.",
    )


def unauthorized(request):
    """401 with a Basic challenge, saying whether credentials were missing or wrong."""
    basic = extract_http_basic_credentials(request)
    if basic is not None and request.shop.passwords.throttle.blocked(basic.username, request.remote_addr):
        wait = request.shop.passwords.throttle.retry_after(basic.username, request.remote_addr)
        return http_error(HTTPTooManyRequests, THROTTLED, headers={"Retry-After": str(wait)})
    if not sent_credentials(request):
        message = "Authentication required: send HTTP Basic credentials."
    elif request.authorization.authtype.lower() != "basic":
        message = (f"Invalid credentials: {request.authorization.authtype[:20]} authorization is "
                   "not understood here; send HTTP Basic credentials.")
    else:
        message = ("Invalid credentials: the user name or password (or access key or secret key) "
                   "is wrong, or the account or credential is disabled.")
    return http_error(HTTPUnauthorized, message,
                      headers={"WWW-Authenticate": f'Basic realm="{REALM}"'})


@subscriber(ContextFound)
def refuse_wrong_credentials(event) -> None:
    """Credentials that are sent are checked, wherever they are sent: wrong ones get 401 even
    where the request would be allowed without them (a network or anonymous read), so that
    somebody trying a new credential learns at once that it is wrong."""
    request = event.request
    if sent_credentials(request) and request.identity is None:
        raise unauthorized(request)


def sent_credentials(request) -> bool:
    """Whether the request carries an Authorization header with anything in it."""
    return bool(request.headers.get("Authorization", "").strip())


def hidden(request):
    """The repository's own refusal when the request lies under a repository the requester
    may not read, else None: so that nothing under it tells whether a name exists (no 404,
    405 or 301). Repository names themselves are not hidden: ``/repo/<made up>/`` is a 404.
    """
    repository = repository_of(getattr(request, "context", None))
    if repository is None:
        return None
    denial = request.has_permission(Permission.VIEW, repository)
    return None if denial else refusal(request, denial)


@forbidden_view_config()
def forbidden(request):
    """The refusal of what the security policy denied (see ``refusal``); under a repository
    one may not read, the repository's refusal, whatever was asked for."""
    if isinstance(request.exception, HTTPForbidden) and request.exception.result is None:
        return request.exception  # a view's own refusal, which already says why
    reason = getattr(request.exception, "result", None)
    return hidden(request) or refusal(request, reason, uploader_hint(request))


def uploader_hint(request) -> str:
    """What to do about a refused upload, for one who may read the repository."""
    context = getattr(request, "context", None)
    uploading = (isinstance(context, Repository) and not request.view_name
                 and request.method == "POST")
    if request.identity is None or not uploading:
        return ""
    name, user = context.__name__, request.identity.userid
    return (
        f": {user} has no uploader role in repository {name}; an admin can grant one "
        f"(localshop -c INI repository set {name} --role user:{user}=uploader)"
    )


@notfound_view_config()
def notfound(request):
    """404, or 301 from a project name or version as spelled to its canonical URL; a view's
    own 404 (which says why) as it is; the repository's refusal to who may not read it.
    A browser asking for an admin page gets the 404 page in the layout (``wants_page``)."""
    refused = hidden(request)
    if refused is not None:
        return refused
    if getattr(request.exception, "explained", False):
        return request.exception
    location = canonical_location(request) if request.method in READ else None
    if location is not None:
        if request.query_string:
            location += "?" + request.query_string
        return HTTPMovedPermanently(location=location)
    browser = is_browser_page(request)
    if browser and wants_page(request):
        answer = not_found_page(request)
    else:
        answer = http_error(HTTPNotFound, f"Not found: {request.path}")
    if browser:  # a page in the layout, or its plain text, as Accept prefers: caches keep them apart
        answer.vary = ("Accept",)
    return answer


@exception_view_config(PredicateMismatch)
def method_not_allowed(request):
    """A view answers this URL, but not this method: 405; other mismatches are not found."""
    if request.method not in READ:
        refused = hidden(request)  # the method allowed would tell that the name exists
        if refused is not None:
            return refused
        return http_error(HTTPMethodNotAllowed, f"Method not allowed: {request.method} {request.path}")
    return notfound(request)


def canonical_location(request) -> str | None:
    """The canonical URL of a project or release addressed by another spelling, or None."""
    context = getattr(request, "context", None)
    if isinstance(context, VersionSpelling):
        rest = (request.view_name, *request.subpath) if request.view_name else ()
        return traversed_url(request, context.release.__name__, up=1) + "/".join(
            quote(s, safe="") for s in rest
        )
    if isinstance(context, Repository):
        name = request.view_name
        if not names.is_valid_name(name) or request.subpath not in ((), ("json",)):
            return None
        canonical = names.normalize(name)
        if canonical == name or not (canonical in context or context.mirrors(None)):
            return None
        return traversed_url(request, canonical) + "/".join(request.subpath)
    return None


@exception_view_config(BadCSRFToken)
def bad_csrf_token(request):
    """A form posted without this session's CSRF token: 400 saying what to do."""
    return hidden(request) or http_error(
        HTTPBadRequest,
        "Bad request: the form's CSRF token is missing or not this session's (the page was "
        "older than your login, or came from another site). Reload the page and send it again.",
    )


@exception_view_config(BadCSRFOrigin)
def bad_csrf_origin(request):
    """An HTTPS form whose Origin or Referer is not this site: 400 saying what to check."""
    origin = request.headers.get("Origin") or request.referer or "none"
    return hidden(request) or http_error(
        HTTPBadRequest,
        f"Bad request: the form did not come from this site (Origin or Referer: {origin[:200]}, "
        f"this site: {request.host_url}). Behind a proxy, let waitress trust its "
        "X-Forwarded-Host and X-Forwarded-Proto (trusted_proxy in production.ini).",
    )


@exception_view_config(ConflictError, last_retry_attempt=True)
def conflict(request):
    """Concurrent writers kept colliding and every retry was used up: ask to try again."""
    return http_error(
        HTTPServiceUnavailable,
        "Busy: concurrent changes to the same project collided; nothing was stored. Try again.",
        headers={"Retry-After": "1"},
    )


@exception_view_config(OSError)
def disk_full(request):
    """The disk (or a quota) had no room for what a request wrote: 507. Found at the commit
    (FileStorage's write of Data.fs, a blob's), the transaction is aborted already: ZODB cut
    Data.fs back to its last transaction and removed the blob files it had moved."""
    if not is_disk_full(request.exception):
        raise request.exception  # any other OSError is the server error it was
    return http_error(HTTPInsufficientStorage, INSUFFICIENT_STORAGE)
