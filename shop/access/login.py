"""The one password login check, for HTTP Basic, the login form and the password form alike.

Every path consults the throttle first and records a failure or a success the same way, so
failures on one path hold up the others, and a success on any path clears the account's count.
"""
from __future__ import annotations

from shop.access.passwords import Passwords
from shop.model.people import User
from shop.model.root import Root

THROTTLED = "Too many failed attempts: wait a few minutes, or ask an admin to reset the password."
REFUSED = "Wrong user name or password (or the account is deactivated)."


class LoginRefused(ValueError):
    """A password login that did not succeed; the message says why."""


class LoginThrottled(LoginRefused):
    """Too many failed password checks for an account from an address."""


def log_in(root: Root, name: str, password: str, passwords: Passwords,
           address: str | None) -> User:
    """The active user with this name and password; throttled per account and address."""
    throttle = passwords.throttle
    if throttle.blocked(name, address):
        raise LoginThrottled(THROTTLED)
    user = root.users.get(name)
    usable = user is not None and user.active
    # An unknown or deactivated name costs one argon2 check too, against a hash that nothing
    # matches: otherwise how long a refusal takes tells which names have accounts.
    matches = passwords.verify(user.password_hash if usable else passwords.dummy_hash, password)
    if not (usable and matches):
        throttle.failed(name, address, password)
        raise LoginRefused(REFUSED)
    throttle.succeeded(name, address)
    return user
