"""Users and credentials: the operations the admin pages and the command line share."""
from __future__ import annotations

import secrets

from shop.access.credentials import new_credential
from shop.access.login import LoginRefused, LoginThrottled, log_in
from shop.access.passwords import Passwords
from shop.access.sessions import end_all_sessions
from shop.model import events, names
from shop.model.people import Credential, User
from shop.model.root import Root


class AccountError(ValueError):
    """An account operation that cannot be done; the message says why."""


class WrongPassword(AccountError):
    """The current password given to change it is wrong (a failed login, for the audit log)."""


MIN_PASSWORD = 8


def _check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"Password too short: use at least {MIN_PASSWORD} characters.")
    return password


def get_user(root: Root, name: str) -> User:
    user = root.users.get(name)
    if user is None:
        raise AccountError(f"No user {name!r}.")
    return user


def add_user(root: Root, name: str, password: str, *, passwords: Passwords,
             admin: bool = False) -> User:
    if not names.is_valid_name(name):
        raise AccountError(
            f"Invalid user name {name[:names.MAX_NAME_LENGTH]!r}: use letters, digits, '.', '_' "
            f"and '-', at most {names.MAX_NAME_LENGTH} characters."
        )
    if name in root.users:
        raise AccountError(f"User {name!r} already exists.")
    user = root.users.add(name, User(passwords.hash(_check_password(password)), admin=admin))
    events.record(root, events.USER, user=name, action="created", admin=str(admin))
    return user


def set_password(root: Root, name: str, password: str, *, passwords: Passwords) -> None:
    """Set a user's password: every session of the old one ends."""
    user = get_user(root, name)
    user.password_hash = passwords.hash(_check_password(password))
    end_all_sessions(user)
    events.record(root, events.PASSWORD, user=name)


def log_out_everywhere(root: Root, name: str) -> User:
    """End every browser session of user ``name``."""
    user = get_user(root, name)
    end_all_sessions(user)
    events.record(root, events.LOGOUT, user=name)
    return user


def change_password(root: Root, name: str, current: str, new: str, *, passwords: Passwords,
                    address: str | None) -> None:
    """Change one's own password, given the current one (LoginThrottled after many failures)."""
    try:
        log_in(root, name, current, passwords, address)
    except LoginThrottled:
        raise
    except LoginRefused:
        raise WrongPassword("The current password is wrong.") from None
    set_password(root, name, new, passwords=passwords)


def ensure_admin(root: Root, password: str | None, *, passwords: Passwords) -> str | None:
    """Create the ``admin`` account on first start; return a generated password to show once."""
    if "admin" in root.users:
        return None
    generated = None
    if not password:
        password = generated = secrets.token_urlsafe(18)
    root.users.add("admin", User(passwords.hash(password), admin=True))
    return generated


def admin_password_ignored(root: Root, password: str | None, *, passwords: Passwords) -> bool:
    """Whether ``password`` ($LOCALSHOP_ADMIN_PASSWORD) is set but is not the password of the
    ``admin`` that exists already: it only ever sets the first one."""
    user = root.users.get("admin")
    if not password or user is None:
        return False
    return not passwords.verify(user.password_hash, password)


def _active_admins(root: Root) -> list[str]:
    return [n for n, u in root.users.items() if u.admin and u.active]


def set_user_flags(root: Root, name: str, *, active: bool | None = None,
                   admin: bool | None = None, groups: tuple[str, ...] | None = None) -> User:
    user = get_user(root, name)
    if (active is False or admin is False) and _active_admins(root) == [name]:
        # Nobody could undo it but the command line.
        raise AccountError(f"{name} is the last active admin: make another admin first.")
    if groups is not None:
        bad = [g for g in groups if not names.is_valid_name(g)]
        if bad:
            raise AccountError(f"Invalid group name {bad[0]!r}.")
        groups = tuple(sorted(set(groups)))
    if active is False:
        end_all_sessions(user)  # so that reactivating does not bring the old sessions back
    changed = {}
    for flag, value in (("active", active), ("admin", admin), ("groups", groups)):
        if value is not None and getattr(user, flag) != value:
            setattr(user, flag, value)
            changed[flag] = " ".join(value) if flag == "groups" else str(value)
    if changed:
        events.record(root, events.USER, user=name, action="changed", **changed)
    return user


def create_credential(root: Root, owner: str, *, repository: str | None = None,
                      upload: bool = False, description: str = "") -> tuple[str, str, Credential]:
    """A new credential for ``owner``: (access key, secret key shown once, credential)."""
    get_user(root, owner)
    if repository is not None and repository not in root.repositories:
        raise AccountError(f"No repository {repository!r}.")
    access_key, secret_key, credential = new_credential(
        owner, repository=repository, upload=upload, description=description.strip()[:200]
    )
    root.credentials.add(access_key, credential)
    events.record(root, events.CREDENTIAL_CREATED, repository=repository or "", owner=owner,
                  access_key=access_key, upload=str(upload), description=credential.description)
    return access_key, secret_key, credential


def get_credential(root: Root, access_key: str, owner: str | None = None) -> Credential:
    """A credential by access key; with ``owner``, only if it is theirs."""
    credential = root.credentials.get(access_key)
    if credential is None or (owner is not None and credential.owner != owner):
        raise AccountError(f"No credential {access_key!r}.")
    return credential


def credentials_of(root: Root, owner: str | None = None) -> list[Credential]:
    """Credentials, newest first; only ``owner``'s when given."""
    found = [c for c in root.credentials.values() if owner is None or c.owner == owner]
    return sorted(found, key=lambda c: c.created, reverse=True)


def set_credential_active(root: Root, access_key: str, active: bool, owner: str | None = None) -> None:
    credential = get_credential(root, access_key, owner)
    if credential.active != active:
        credential.active = active
        events.record(root, events.CREDENTIAL_ENABLED if active else events.CREDENTIAL_DISABLED,
                      repository=credential.repository or "", owner=credential.owner,
                      access_key=access_key)


def delete_credential(root: Root, access_key: str, owner: str | None = None) -> None:
    credential = get_credential(root, access_key, owner)
    root.credentials.remove(access_key)
    events.record(root, events.CREDENTIAL_DELETED, repository=credential.repository or "",
                  owner=credential.owner, access_key=access_key)
