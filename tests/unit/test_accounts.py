"""Accounts: the first admin, and changing one's own password through the login check."""
from __future__ import annotations

import pytest

from shop.access import accounts
from shop.access.login import LoginThrottled
from shop.access.passwords import Passwords, VerifiedSecrets

PASSWORD = "password-1234"


@pytest.fixture
def passwords():
    return Passwords("CHEAPEST")


def test_ensure_admin_creates_admin_once(root, passwords):
    assert accounts.ensure_admin(root, "given", passwords=passwords) is None
    assert root.users["admin"].admin
    assert VerifiedSecrets().verify(root.users["admin"].password_hash, "given")
    assert accounts.ensure_admin(root, "other", passwords=passwords) is None
    assert VerifiedSecrets().verify(root.users["admin"].password_hash, "given")


def test_ensure_admin_generates_a_password_to_show_once(root, passwords):
    generated = accounts.ensure_admin(root, None, passwords=passwords)
    assert generated and len(generated) >= 20
    assert VerifiedSecrets().verify(root.users["admin"].password_hash, generated)


def test_new_accounts_are_hashed_with_the_service_profile(root, passwords):
    user = accounts.add_user(root, "alice", PASSWORD, passwords=passwords)
    assert "$m=8,t=1,p=1$" in user.password_hash and passwords.verify(user.password_hash, PASSWORD)


def test_a_wrong_current_password_does_not_change_the_password(root, passwords):
    accounts.add_user(root, "alice", PASSWORD, passwords=passwords)
    with pytest.raises(accounts.AccountError, match="The current password is wrong."):
        accounts.change_password(root, "alice", "wrong-password", "new-password",
                                 passwords=passwords, address="192.0.2.1")
    assert passwords.verify(root.users["alice"].password_hash, PASSWORD)


def test_changing_the_password_is_throttled_like_logging_in(root, passwords):
    accounts.add_user(root, "alice", PASSWORD, passwords=passwords)
    for i in range(5):  # five different wrong passwords (the same one again is no new guess)
        with pytest.raises(accounts.AccountError):
            accounts.change_password(root, "alice", f"wrong-password-{i}", "new-password",
                                     passwords=passwords, address="192.0.2.1")
    with pytest.raises(LoginThrottled, match="Too many failed attempts"):
        accounts.change_password(root, "alice", PASSWORD, "new-password",
                                 passwords=passwords, address="192.0.2.1")
    assert passwords.verify(root.users["alice"].password_hash, PASSWORD)


def test_a_given_admin_password_is_ignored_once_admin_has_another(root, passwords):
    assert not accounts.admin_password_ignored(root, "given", passwords=passwords)  # no admin yet
    accounts.ensure_admin(root, "given", passwords=passwords)
    assert not accounts.admin_password_ignored(root, "given", passwords=passwords)
    assert not accounts.admin_password_ignored(root, None, passwords=passwords)
    assert accounts.admin_password_ignored(root, "changed", passwords=passwords)
