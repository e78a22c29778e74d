"""Access: who is asking (identity from HTTP Basic or a session cookie) and what they may do.

``passwords`` hashes and checks passwords, ``throttle`` holds up guessing, ``login`` is the one
password check, ``credentials`` the access keys for clients, ``identity`` who a request is,
``policy`` the Pyramid security policy, ``accounts`` the operations on users and credentials,
``failures`` the failed logins noted for the audit log.
"""
from __future__ import annotations

from shop.access.failures import FailedLogins
from shop.access.passwords import Passwords


def includeme(config) -> None:
    """The process's password service (``request.shop.passwords``), the failed logins it
    records, and the security policy."""
    services = config.registry.shop
    services.passwords = Passwords(services.settings.argon2_profile)
    services.failed_logins = FailedLogins()
    config.include(".policy")
