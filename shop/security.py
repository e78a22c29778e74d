"""Identity, passwords and permissions: one Pyramid security policy for every request."""
from __future__ import annotations

import hashlib
import logging
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pyramid.authentication import extract_http_basic_credentials
from pyramid.authorization import ACLHelper, Authenticated, Everyone
from pyramid.request import RequestLocalCache
from pyramid_zodbconn import get_connection

from .permissions import ADMIN_PRINCIPAL, Permission  # noqa: F401 (re-exported)
from .resources import Root, User, app_root

log = logging.getLogger(__name__)

REALM = "localshop"


_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``."""
    return _hasher.hash(password)


class VerifiedSecrets:
    """Remembers which (stored hash, secret) pairs verified, so argon2 runs once per process.

    pip sends credentials on every request; an argon2 check costs tens of milliseconds.
    The key includes the stored hash, so a changed password misses the cache at once, and
    only a digest of the secret is kept.
    """

    def __init__(self, size: int = 4096) -> None:
        self._seen: OrderedDict[bytes, None] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def verify(self, stored_hash: str, secret: str) -> bool:
        key = hashlib.sha256(f"{stored_hash}\0{secret}".encode()).digest()
        with self._lock:
            if key in self._seen:
                self._seen.move_to_end(key)
                return True
        try:
            _hasher.verify(stored_hash, secret)
        except (VerificationError, InvalidHashError):
            return False
        with self._lock:
            self._seen[key] = None
            while len(self._seen) > self._size:
                self._seen.popitem(last=False)
        return True


@dataclass(frozen=True)
class Identity:
    """Who made a request, and the principals ACLs are checked against."""

    userid: str
    admin: bool = False
    principals: tuple[str, ...] = field(default=())


def authenticate(root: Root, username: str, password: str, verified: VerifiedSecrets) -> Identity | None:
    """The identity for a user name and password, or None if they do not match an active user."""
    user: User | None = root.users.get(username)
    if user is None or not user.active or not verified.verify(user.password_hash, password):
        return None
    principals = (Everyone, Authenticated, f"user:{username}")
    if user.admin:
        principals += (ADMIN_PRINCIPAL,)
    return Identity(userid=username, admin=user.admin, principals=principals)


def _add_vary_authorization(request, response) -> None:
    vary = list(response.vary or ())
    if "Authorization" not in vary:
        response.vary = vary + ["Authorization"]


class SecurityPolicy:
    """HTTP Basic for pip, uv and twine; the identity is computed once per request."""

    def __init__(self) -> None:
        self.verified = VerifiedSecrets()
        self.identity_cache = RequestLocalCache(self._identity)

    def identity(self, request) -> Identity | None:
        return self.identity_cache.get_or_create(request)

    def _identity(self, request) -> Identity | None:
        credentials = extract_http_basic_credentials(request)
        if credentials is None:
            return None
        request.add_response_callback(_add_vary_authorization)
        # Not request.root: pyramid_tm may ask for the identity before traversal has run.
        root = app_root(get_connection(request))
        return authenticate(root, credentials.username, credentials.password, self.verified)

    def authenticated_userid(self, request) -> str | None:
        identity = request.identity
        return identity.userid if identity else None

    def permits(self, request, context, permission):
        identity = request.identity
        principals = identity.principals if identity else (Everyone,)
        return ACLHelper().permits(context, principals, permission)

    def remember(self, request, userid, **kw):
        return []

    def forget(self, request, **kw):
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


def includeme(config) -> None:
    config.set_security_policy(SecurityPolicy())
