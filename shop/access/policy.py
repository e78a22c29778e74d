"""Passwords and the one Pyramid security policy: HTTP Basic for clients, a session cookie for browsers.

Clients (pip, uv, twine) authenticate with HTTP Basic: a user's name and password, or a
credential's access key and secret key. Browsers log in once and carry a signed session
cookie. The identity is computed once per request; ACLs live on the resources.
"""
from __future__ import annotations

import functools
import hashlib
import ipaddress
import logging
import secrets
import threading
import time
from collections import OrderedDict, defaultdict, deque

import argon2.profiles
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pyramid.authentication import extract_http_basic_credentials
from pyramid.authorization import ACLHelper, Everyone
from pyramid.request import RequestLocalCache
from pyramid.security import Denied
from pyramid.session import SignedCookieSessionFactory
from pyramid_zodbconn import get_connection

from shop.access.credentials import check_credential, credential_denies
from shop.access.identity import Identity, identity_for
from shop.model.offers import repository_of
from shop.model.people import Credential, User
from shop.model.permissions import NETWORK_PRINCIPAL
from shop.model.tree import Root, app_root

log = logging.getLogger(__name__)

REALM = "localshop"
_hasher = PasswordHasher()  # argon2-cffi's default: RFC 9106's low-memory profile


def use_argon2_profile(name: str) -> None:
    """Make new password hashes with one of ``argon2.profiles`` (``shop.argon2_profile``).

    Checking a password uses the parameters stored in its hash, whatever the profile now.
    """
    global _hasher
    _hasher = PasswordHasher.from_parameters(getattr(argon2.profiles, name))
    if name == "CHEAPEST":
        log.warning("shop.argon2_profile = CHEAPEST: new password hashes protect nothing "
                    "(meant for test suites only)")


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``."""
    return _hasher.hash(password)


class VerifiedSecrets:
    """Remembers which (stored hash, secret) pairs verified, so argon2 runs once per process.

    pip sends credentials on every request; an argon2 check costs tens of milliseconds.
    The key includes the stored hash, so a changed password misses the cache at once, and
    only a digest of the secret is kept.
    """

    def __init__(self, size: int = 4096, concurrency: int = 2) -> None:
        self._seen: OrderedDict[bytes, None] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()
        # argon2 takes 64 MiB and ~100 ms per check: a burst of wrong passwords must queue
        # rather than multiply the server's memory.
        self._slots = threading.BoundedSemaphore(concurrency)

    def verify(self, stored_hash: str, secret: str) -> bool:
        key = hashlib.sha256(f"{stored_hash}\0{secret}".encode()).digest()
        with self._lock:
            if key in self._seen:
                self._seen.move_to_end(key)
                return True
        try:
            with self._slots:
                _hasher.verify(stored_hash, secret)
        except (VerificationError, InvalidHashError):
            return False
        with self._lock:
            self._seen[key] = None
            while len(self._seen) > self._size:
                self._seen.popitem(last=False)
        return True


class LoginThrottle:
    """Refuses password checks after repeated failures: for an account from one address, and
    for any account from one address (password spraying).

    There is deliberately no lock on an account as such: anyone could then lock its owner
    out by failing on purpose. Counts are per process.
    """

    def __init__(self, per_account: int = 5, per_address: int = 30, window: float = 900.0):
        self.per_account, self.per_address, self.window = per_account, per_address, window
        self._failures: dict[tuple, deque] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, key: tuple, now: float) -> int:
        times = self._failures.get(key)
        if not times:
            return 0
        while times and now - times[0] > self.window:
            times.popleft()
        return len(times)

    def blocked(self, username: str, address: str | None) -> bool:
        now = time.monotonic()
        with self._lock:
            return (
                self._recent(("account", username, address), now) >= self.per_account
                or self._recent(("address", address), now) >= self.per_address
            )

    def failed(self, username: str, address: str | None) -> None:
        now = time.monotonic()
        with self._lock:
            self._failures[("account", username, address)].append(now)
            self._failures[("address", address)].append(now)

    def succeeded(self, username: str, address: str | None) -> None:
        with self._lock:
            self._failures.pop(("account", username, address), None)


def check_password(root: Root, username: str, password: str, verified: VerifiedSecrets) -> User | None:
    """The active user with this name and password, or None."""
    user = root.users.get(username)
    if user is None or not user.active or not verified.verify(user.password_hash, password):
        return None
    return user


def authenticate_basic(root: Root, username: str, password: str, verified: VerifiedSecrets,
                       throttle: LoginThrottle, address: str | None) -> Identity | None:
    """The identity for HTTP Basic credentials: a credential's keys or a user's password."""
    credential: Credential | None = root.credentials.get(username)
    if credential is not None:
        # Random 128-bit secrets: nothing to throttle, and no argon2 to spend.
        owner = check_credential(root, credential, password)
        return identity_for(credential.owner, owner, credential) if owner is not None else None
    if throttle.blocked(username, address):
        return None
    user = check_password(root, username, password, verified)
    if user is None:
        throttle.failed(username, address)
        return None
    return identity_for(username, user)


def password_fingerprint(user: User) -> str:
    """Ties a browser session to the password it logged in with (a digest of its hash)."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


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

    def __init__(self) -> None:
        self.verified = VerifiedSecrets()
        self.throttle = LoginThrottle()
        self.identity_cache = RequestLocalCache(self._identity)

    def identity(self, request) -> Identity | None:
        return self.identity_cache.get_or_create(request)

    def _identity(self, request) -> Identity | None:
        credentials = extract_http_basic_credentials(request)
        if credentials is not None:
            request.add_response_callback(_vary("Authorization"))
            return authenticate_basic(
                _root(request), credentials.username, credentials.password, self.verified,
                self.throttle, request.remote_addr,
            )
        if request.cookies.get(SESSION_COOKIE) is None:
            return None  # anonymous: the common case for pip on an open index, kept cheap
        request.add_response_callback(_vary("Cookie"))
        root = _root(request)
        name = request.session.get("userid")
        user = root.users.get(name) if name else None
        if user is None or not user.active:
            return None
        if request.session.get("password") != password_fingerprint(user):
            return None  # the password changed since this session logged in: it is over
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
        request.session["userid"] = userid
        user = _root(request).users.get(userid)
        request.session["password"] = password_fingerprint(user) if user is not None else None
        return []

    def forget(self, request, **kw):
        request.session.invalidate()
        return []


def ensure_admin(root: Root, password: str | None) -> str | None:
    """Create the ``admin`` account on first start; return a generated password to show once."""
    if "admin" in root.users:
        return None
    generated = None
    if not password:
        password = generated = secrets.token_urlsafe(18)
    root.users.add("admin", User(hash_password(password), admin=True))
    return generated


SESSION_COOKIE = "localshop_session"


def includeme(config) -> None:
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
    config.set_security_policy(SecurityPolicy())
    # Every form carries a CSRF token; the upload API opts out (it is authenticated by Basic).
    config.set_default_csrf_options(require_csrf=True)
