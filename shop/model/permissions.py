"""Permissions, roles and principals, shared by resource ACLs, the security policy and views."""
import enum

ADMIN_PRINCIPAL = "role:admin"
# Given by the security policy to a client whose address is in a repository's read networks.
NETWORK_PRINCIPAL = "system.AllowedNetwork"


class Permission(str, enum.Enum):
    """What a request may want to do; used in ``__acl__`` and ``view_config(permission=...)``."""

    VIEW = "view"  # read simple pages, files, metadata
    UPLOAD = "upload"  # upload into a repository: new projects
    RELEASE = "release"  # add files to a project someone already hosts (its owners)
    MANAGE = "manage"  # yank and delete a project's files; configure a repository
    ACCOUNT = "account"  # one's own account page and credentials
    ADMIN = "admin"  # repositories, users: the whole site


class Role(str, enum.Enum):
    """What a user or group may do in one repository."""

    READER = "reader"
    UPLOADER = "uploader"
    OWNER = "owner"


ROLE_PERMISSIONS = {
    Role.READER: (Permission.VIEW,),
    Role.UPLOADER: (Permission.VIEW, Permission.UPLOAD),
    Role.OWNER: (Permission.VIEW, Permission.UPLOAD, Permission.RELEASE, Permission.MANAGE),
}


def user_principal(name: str) -> str:
    return f"user:{name}"


def group_principal(name: str) -> str:
    return f"group:{name}"
