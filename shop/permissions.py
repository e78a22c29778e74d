"""Permissions and principals, shared by resource ACLs and views."""
import enum

ADMIN_PRINCIPAL = "role:admin"


class Permission(str, enum.Enum):
    """What a request may want to do; used in ``__acl__`` and ``view_config(permission=...)``."""

    VIEW = "view"
    UPLOAD = "upload"
    ADMIN = "admin"
