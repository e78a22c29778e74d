"""Who made a request: the identity the security policy computes once per request."""
from __future__ import annotations

from dataclasses import dataclass

from pyramid.authorization import Authenticated, Everyone

from shop.model.people import Credential, User
from shop.model.permissions import ADMIN_PRINCIPAL, group_principal, user_principal


@dataclass(frozen=True)
class Identity:
    """Who made a request, and the principals ACLs are checked against."""

    userid: str
    admin: bool
    principals: tuple[str, ...]
    # Set when a credential authenticated the request: what it is narrowed to.
    access_key: str | None = None
    credential_repository: str | None = None
    credential_upload: bool = False


def identity_for(name: str, user: User, credential: Credential | None = None) -> Identity:
    """The identity of user ``name``, narrowed by ``credential`` when one authenticated."""
    principals = (Everyone, Authenticated, user_principal(name),
                  *(group_principal(g) for g in user.groups))
    if user.admin:
        principals += (ADMIN_PRINCIPAL,)
    if credential is None:
        return Identity(name, user.admin, principals)
    return Identity(name, user.admin, principals, access_key=credential.access_key,
                    credential_repository=credential.repository,
                    credential_upload=credential.upload)
