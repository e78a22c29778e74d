"""Accounts: the first admin, and passwords hashed with the process's profile."""
from __future__ import annotations

import pytest

from shop.access import accounts
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
