"""Accounts and credentials: who may log in, and the keys pip and twine send."""
from __future__ import annotations

import datetime

from BTrees.OOBTree import OOBTree
from persistent import Persistent

from shop.model import names
from shop.model.folders import Folder, utcnow


class Users(Folder):
    """Accounts, by user name."""

    def check_key(self, key: str, obj) -> str:
        key = super().check_key(key, obj)
        names.valid_name(key)
        return key


class User(Persistent):
    """A person (or robot) who can log in and upload."""

    __name__: str | None = None
    __parent__: Users | None = None
    # The live browser sessions, id -> when it began (shop/access/sessions.py). A class-level
    # default: users stored before sessions were kept have none until they log in again.
    sessions: OOBTree | None = None

    def __init__(self, password_hash: str, admin: bool = False) -> None:
        self.password_hash = password_hash
        self.admin = admin
        self.active = True
        self.created = utcnow()
        self.groups: tuple[str, ...] = ()


class Credentials(Folder):
    """Access-key/secret-key pairs, by access key."""


class Credential(Persistent):
    """A random access key and secret for pip.conf, .pypirc and index URLs.

    Acts for its owner, narrowed to one repository (or all) and to reading (or reading
    and uploading). Only a sha256 of the secret is kept: the secret is random, so a fast
    hash is as safe as a slow one, and it costs nothing per request.
    """

    __name__: str | None = None
    __parent__: Credentials | None = None

    def __init__(self, owner: str, secret_sha256: str, *, repository: str | None = None,
                 upload: bool = False, description: str = "") -> None:
        self.owner = owner
        self.secret_sha256 = secret_sha256
        self.repository = repository
        self.upload = upload
        self.description = description
        self.active = True
        self.created = utcnow()
        self.last_used: datetime.datetime | None = None

    @property
    def access_key(self) -> str:
        return self.__name__
