"""The one Pyramid security policy: HTTP Basic for clients, a session cookie for browsers.

Clients (pip, uv, twine) authenticate with HTTP Basic: a user's name and password, or a
credential's access key and secret key. Browsers log in once and carry a signed session
cookie. The identity is computed once per request; ACLs live on the resources.
"""
from __future__ import annotations

import functools
import ipaddress

from pyramid.authentication import extract_http_basic_credentials
from pyramid.authorization import ACLHelper, Everyone
from pyramid.request import RequestLocalCache
from pyramid.security import Denied
from pyramid.session import SignedCookieSessionFactory
from pyramid_zodbconn import get_connection

from shop.access import failures
from shop.access.credentials import check_credential, credential_denies, looks_like_access_key
from shop.access.identity import Identity, identity_for
from shop.access.login import LoginRefused, LoginThrottled, log_in
from shop.access.passwords import Passwords
from shop.access.sessions import end_session, is_live, open_session
from shop.model.people import Credential
from shop.model.permissions import NETWORK_PRINCIPAL
from shop.model.root import Root, app_root
from shop.model.tree import repository_of

REALM = "localshop"
SESSION_COOKIE = "localshop_session"


def basic_identity(root: Root, username: str, password: str, passwords: Passwords,
                   address: str | None, environ: dict | None = None) -> Identity | None:
    """The identity for HTTP Basic credentials: a credential's keys or a user's password.
    A failure is noted in ``environ`` (the request's) for the audit log, when given."""
    environ = {} if environ is None else environ
    credential: Credential | None = root.credentials.get(username)
    if credential is not None or (looks_like_access_key(username) and username not in root.users):
        # Random 128-bit secrets: nothing to throttle, and no argon2 to spend, for an unknown
        # key either (a sha256 of its secret all the same): timing tells no keys apart.
        owner = check_credential(root, credential, password)
        if owner is None:
            failures.note(environ, credential.owner if credential else username, address,
                          failures.CREDENTIAL, via=username, secret=password)
            return None
        return identity_for(credential.owner, owner, credential)
    try:
        user = log_in(root, username, password, passwords, address)
    except LoginRefused as e:
        failures.note(environ, username, address, failures.BASIC, secret=password,
                      throttled=isinstance(e, LoginThrottled))
        return None
    return identity_for(username, user)


def _root(request) -> Root:
    # Not request.root: the identity may be asked for before traversal has run.
    return app_root(get_connection(request))


@functools.lru_cache(maxsize=1024)
def in_networks(address: str | None, networks: tuple[str, ...]) -> bool:
    """Whether a client address is in one of the networks (cached: asked on every request)."""
    if not address or not networks:
        return False
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in ipaddress.ip_network(n) for n in networks)


def _vary(header: str):
    def callback(request, response) -> None:
        vary = list(response.vary or ())
        if header not in vary:
            response.vary = vary + [header]
    return callback


class SecurityPolicy:
    """HTTP Basic for pip, uv and twine; a session cookie for browsers; ACLs on resources."""

    def __init__(self, passwords: Passwords) -> None:
        self.passwords = passwords
        self.identity_cache = RequestLocalCache(self._identity)

    def identity(self, request) -> Identity | None:
        return self.identity_cache.get_or_create(request)

    def _identity(self, request) -> Identity | None:
        credentials = extract_http_basic_credentials(request)
        if credentials is not None:
            request.add_response_callback(_vary("Authorization"))
            return basic_identity(_root(request), credentials.username, credentials.password,
                                  self.passwords, request.remote_addr, request.environ)
        if request.cookies.get(SESSION_COOKIE) is None:
            return None  # anonymous: the common case for pip on an open index, kept cheap
        request.add_response_callback(_vary("Cookie"))
        root = _root(request)
        name = request.session.get("userid")
        user = root.users.get(name) if name else None
        if user is None or not user.active or not is_live(user, request.session.get("session")):
            return None  # logged out, everywhere, by a password change or a deactivation
        return identity_for(name, user)

    def authenticated_userid(self, request) -> str | None:
        identity = request.identity
        return identity.userid if identity else None

    def permits(self, request, context, permission):
        identity: Identity | None = request.identity
        principals = list(identity.principals if identity else (Everyone,))
        repository = repository_of(context)
        if repository is not None and in_networks(request.remote_addr, repository.read_networks):
            principals.append(NETWORK_PRINCIPAL)
        if identity is not None and identity.access_key is not None:
            denied = credential_denies(identity, repository, permission)
            if denied:
                return Denied(denied)
        return ACLHelper().permits(context, principals, permission)

    def remember(self, request, userid, **kw):
        request.session.invalidate()  # a new session at login: no fixation
        user = _root(request).users.get(userid)
        if user is not None:
            request.session["userid"] = userid
            request.session["session"] = open_session(user)
        return []

    def forget(self, request, **kw):
        if request.cookies.get(SESSION_COOKIE) is not None:
            user = _root(request).users.get(request.session.get("userid") or "")
            if user is not None:  # ended on the server: a copy of the cookie is dead too
                end_session(user, request.session.get("session"))
        request.session.invalidate()
        return []


def includeme(config) -> None:
    """The session cookie, the security policy over the process's passwords, CSRF on forms."""
    settings = config.registry.shop.settings
    config.set_session_factory(SignedCookieSessionFactory(
        settings.secret,
        cookie_name=SESSION_COOKIE,
        secure=settings.cookie_secure,
        httponly=True,
        samesite="Lax",
        timeout=12 * 3600,
        reissue_time=600,
    ))
    config.set_security_policy(SecurityPolicy(config.registry.shop.passwords))
    # Every form carries a CSRF token; the upload API opts out (it is authenticated by Basic).
    config.set_default_csrf_options(require_csrf=True)
