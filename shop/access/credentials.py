"""Credentials: access keys with random secrets for pip and twine, and what they may not do.

A credential narrows its owner's rights: it may install (and, if made so, upload), in one
repository or all; it never opens the browser pages.
"""
from __future__ import annotations

import datetime
import hashlib
import hmac
import re
import secrets

from shop.access.identity import Identity
from shop.model.folders import utcnow
from shop.model.people import Credential, User
from shop.model.permissions import Permission
from shop.model.root import Root
from shop.model.tree import Repository

LAST_USED_RESOLUTION = datetime.timedelta(minutes=5)  # how stale "last used" may be
CLIENTS_ONLY = "credentials are for installing and uploading only"
ALLOWED = (Permission.VIEW, Permission.UPLOAD, Permission.RELEASE)
ACCESS_KEY = re.compile(r"[0-9a-f]{32}")  # what new_credential makes: 16 random bytes in hex


def hash_secret(secret: str) -> str:
    """The stored form of a credential's random secret key."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_credential(owner: str, *, repository: str | None, upload: bool,
                   description: str = "") -> tuple[str, str, Credential]:
    """A fresh (access key, secret key, credential); only the secret's hash is kept."""
    access_key, secret_key = secrets.token_hex(16), secrets.token_hex(16)
    credential = Credential(owner, hash_secret(secret_key), repository=repository,
                            upload=upload, description=description)
    return access_key, secret_key, credential


def looks_like_access_key(name: str) -> bool:
    """Whether a user name has the shape of an access key."""
    return ACCESS_KEY.fullmatch(name) is not None


def check_credential(root: Root, credential: Credential | None, secret: str) -> User | None:
    """The active owner of an active ``credential`` whose secret is ``secret``, or None.

    A credential that checks has its "last used" time brought up to date.
    """
    # The secret is hashed and compared whether or not the key exists or is active, so an
    # unknown or disabled key is refused in the time a wrong secret is.
    stored = hash_secret(secrets.token_hex(16)) if credential is None else credential.secret_sha256
    matches = hmac.compare_digest(stored, hash_secret(secret))
    if not matches or credential is None or not credential.active:
        return None
    owner = root.users.get(credential.owner)
    if owner is None or not owner.active:
        return None
    now = utcnow()
    if credential.last_used is None or now - credential.last_used > LAST_USED_RESOLUTION:
        credential.last_used = now  # a write at most every few minutes per credential
    return owner


def credential_denies(identity: Identity, repository: Repository | None, permission) -> str | None:
    """Why a credential may not do this (it narrows its owner's rights), or None."""
    if permission not in ALLOWED:
        return CLIENTS_ONLY
    if permission != Permission.VIEW and not identity.credential_upload:
        return "this credential is read-only"
    if identity.credential_repository is not None and (
        repository is None or repository.__name__ != identity.credential_repository
    ):
        return f"this credential is for repository {identity.credential_repository} only"
    return None


def page_denies(identity: Identity | None) -> str | None:
    """Why a browser page refuses this identity (a credential's), or None."""
    if identity is not None and identity.access_key is not None:
        return f"{CLIENTS_ONLY}; log in with your password"
    return None
