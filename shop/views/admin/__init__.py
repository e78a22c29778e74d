"""The browser admin: ``+``-named pages in Chameleon templates around one layout.

Pages are for people: a session cookie from ``/+login`` (or a password over HTTP Basic).
Credentials are for pip and twine, so pages refuse them. Every form posts a CSRF token; a
form that cannot be carried out is rendered again with the reason and a 4xx status, raised
so that pyramid_tm aborts whatever the view changed.
"""
from __future__ import annotations

import datetime
from functools import wraps
from urllib.parse import urlsplit

from pyramid.events import BeforeRender, subscriber
from pyramid.httpexceptions import HTTPBadRequest, HTTPForbidden
from pyramid.renderers import render
from pyramid.security import Denied
from pyramid.view import view_config

from shop.access.credentials import page_denies
from shop.access.policy import SESSION_COOKIE
from shop.model.permissions import Permission
from shop.model.tree import Repository
from shop.pages.units import size
from shop.views import READ, status_line  # noqa: F401 (the admin modules import READ from here)

TEMPLATES = "shop:templates/"


def template(name: str) -> str:
    return TEMPLATES + name


def people_only(view):
    """Refuse requests authenticated by a credential: those are for installers and uploaders."""

    @wraps(view)
    def wrapper(context, request):
        denied = page_denies(request.identity)
        if denied:
            raise HTTPForbidden(result=Denied(denied))
        # Pages show private data and one-time secrets: never store them in a cache.
        request.response.cache_control = "private, no-store"
        return view(context, request)

    return wrapper


def page(**settings):
    """``view_config`` for an admin page: people only, not cached."""
    settings.setdefault("decorator", people_only)
    return view_config(**settings)


def form_error(request, renderer: str, values: dict, message: str, status=HTTPBadRequest):
    """The page rendered again with ``message``, as an exception to raise (the transaction aborts)."""
    body = render(renderer, dict(values, error=message), request=request)
    exc = status(body=body, content_type="text/html", charset="utf-8",
                 cache_control="private, no-store")
    exc.status = status_line(exc.code, message)  # the reason phrase says why, as the page does
    return exc


def local_path(came_from: str | None) -> str:
    """``came_from`` if it is a path on this site, else ``/`` (no open redirects)."""
    if not came_from or not came_from.startswith("/") or came_from.startswith("//"):
        return "/"
    if "\\" in came_from or any(ord(c) < 0x20 or c == "\x7f" for c in came_from):
        return "/"
    parts = urlsplit(came_from)
    if parts.scheme or parts.netloc:
        return "/"
    return came_from


def flag(params, key: str) -> bool:
    """A checkbox: present and not 'off' means on."""
    return params.get(key, "off") not in ("", "off", "false", "0")


def when(moment: datetime.datetime | None, zone: bool = True) -> str:
    """A moment in UTC, to the minute."""
    if moment is None:
        return "never"
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M" + (" UTC" if zone else ""))


class Layout:
    """What the layout macro needs: who is logged in, navigation, the CSRF token, messages."""

    def __init__(self, request) -> None:
        self.request = request
        self.identity = request.identity
        self.user = self.identity.userid if self.identity else None
        self.is_admin = bool(self.identity and self.identity.admin)
        # Not static_url(): it would quote the "+" of the reserved segment.
        self.stylesheet = request.application_url + "/+static/localshop.css"
        self.size = size
        self.when = when

    @property
    def csrf_token(self) -> str:
        return self.request.session.get_csrf_token()

    @property
    def messages(self) -> list[str]:
        """Flash messages; the session is only looked at when the browser has one."""
        if SESSION_COOKIE not in self.request.cookies:
            return []
        session = self.request.session
        return session.pop_flash() if session.peek_flash() else []

    def url(self, path: str = "") -> str:
        return self.request.application_url + "/" + path

    @property
    def nav(self) -> list[tuple[str, str, bool]]:
        """(label, URL, current) for the navigation bar."""
        items = [("Dashboard", "")]
        if self.user:
            items += [("Credentials", "+credentials"), ("Account", "+account")]
        if self.is_admin:
            items += [("Repositories", "+repositories"), ("Users", "+users"),
                      ("Blocks", "+blocks"), ("Audit log", "+audit")]
        here = self.request.view_name if self.request.context is self.request.root else None
        return [(label, self.url(path), here == path) for label, path in items]


@subscriber(BeforeRender)
def add_layout(event) -> None:
    """Give every page template its ``layout``; other renderers (JSON) are left alone."""
    request = event.get("request")
    if request is not None and str(event.get("renderer_name", "")).endswith(".pt"):
        event["layout"] = Layout(request)
        event["error"] = None  # a page's own ``error`` value, when it has one, wins


def viewable_repositories(request) -> list[Repository]:
    """The repositories this request may read, by name."""
    return [r for r in request.root.repositories.values()
            if request.has_permission(Permission.VIEW, r)]
