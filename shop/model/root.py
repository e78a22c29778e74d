"""The application root of the persistent tree: repositories, users, credentials.

Below the repositories, ``shop.model.tree`` (Repository -> Package -> Release -> file).
"""
from __future__ import annotations

from persistent import Persistent
from pyramid.authorization import ALL_PERMISSIONS, DENY_ALL, Allow, Authenticated

from shop.model import names
from shop.model.audit import AuditLog
from shop.model.blocks import Blocklist
from shop.model.folders import Folder
from shop.model.people import Credentials, Users
from shop.model.permissions import ADMIN_PRINCIPAL, Permission
from shop.model.stats import Stats

APP_ROOT_KEY = "localshop"
DEFAULT_REPOSITORY = "default"


class Root(Persistent):
    """The application root: repositories, users, credentials and the audit log."""

    __name__ = ""
    __parent__ = None
    # The dashboard's history (shop.model.stats); None in a database made before it, until
    # start-up adds it (shop.model.bootstrap).
    stats: Stats | None = None
    # The webhooks' delivery queue (``shop.model.webhooks.Deliveries``), made by bootstrap.
    webhooks = None
    # The block list (``shop.model.blocks.Blocklist``), made by bootstrap.
    blocklist = None
    # Site-wide: admins may do everything; everybody logged in has an account page.
    __acl__ = [
        (Allow, ADMIN_PRINCIPAL, ALL_PERMISSIONS),
        (Allow, Authenticated, Permission.ACCOUNT),
        DENY_ALL,
    ]

    def __init__(self) -> None:
        self.repositories = Repositories()
        self.repositories.__name__ = "repo"
        self.repositories.__parent__ = self
        self.users = Users()
        self.users.__name__ = "+users"
        self.users.__parent__ = self
        self.credentials = Credentials()
        self.credentials.__name__ = "+credentials"
        self.credentials.__parent__ = self
        self.stats = Stats()
        self.audit = AuditLog()  # every change somebody made (shop.model.audit)
        self.audit.__parent__ = self
        self.blocklist = Blocklist()

    def __getitem__(self, key: str):
        if key == "repo":
            return self.repositories
        if key in ("simple", "pypi"):
            # /simple/ and /pypi/ are the default repository under other names.
            return self.repositories[DEFAULT_REPOSITORY]
        raise KeyError(key)


class Repositories(Folder):
    """All repositories, by name."""

    def check_key(self, key: str, obj) -> str:
        key = super().check_key(key, obj)
        names.valid_name(key)
        if key != key.lower():
            raise KeyError(f"Invalid repository name {key!r}: use lower case.")
        return key


def stats_of(obj) -> Stats | None:
    """The dashboard's history of the tree ``obj`` (a stored resource) is in."""
    while obj is not None and not isinstance(obj, Root):
        obj = getattr(obj, "__parent__", None)
    return obj.stats if obj is not None else None


def app_root(conn) -> Root:
    """The application root in an open ZODB connection."""
    return conn.root()[APP_ROOT_KEY]
