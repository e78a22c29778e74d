"""Passwords and identities (shop/security.py)."""
from __future__ import annotations

import pytest

from shop.access.policy import VerifiedSecrets, ensure_admin, hash_password, use_argon2_profile


@pytest.fixture(scope="module")
def stored_hash():
    return hash_password("right")


def test_the_right_secret_verifies_and_is_remembered(stored_hash):
    verified = VerifiedSecrets()
    assert verified.verify(stored_hash, "right")
    assert len(verified._seen) == 1
    assert verified.verify(stored_hash, "right")
    assert len(verified._seen) == 1  # a hit: nothing new to remember


def test_a_wrong_secret_fails_and_is_not_remembered(stored_hash):
    verified = VerifiedSecrets()
    assert not verified.verify(stored_hash, "wrong")
    assert len(verified._seen) == 0
    assert not verified.verify(stored_hash, "wrong")


def test_a_changed_hash_misses_the_cache():
    verified = VerifiedSecrets()
    old = hash_password("old")
    assert verified.verify(old, "old")
    new = hash_password("new")  # the password was changed
    assert not verified.verify(new, "old")
    assert verified.verify(new, "new")
    assert len(verified._seen) == 2


def test_the_cache_forgets_the_least_recently_used_pair(stored_hash):
    verified = VerifiedSecrets(size=1)
    other = hash_password("other")
    assert verified.verify(stored_hash, "right")
    assert verified.verify(other, "other")
    assert len(verified._seen) == 1


def test_a_malformed_stored_hash_never_verifies():
    assert not VerifiedSecrets().verify("not an argon2 hash", "anything")


def test_only_digests_are_remembered(stored_hash):
    verified = VerifiedSecrets()
    verified.verify(stored_hash, "right")
    (key,) = verified._seen
    assert b"right" not in key and len(key) == 32


def test_ensure_admin_creates_admin_once(root):
    assert ensure_admin(root, "given") is None
    assert root.users["admin"].admin
    assert VerifiedSecrets().verify(root.users["admin"].password_hash, "given")
    assert ensure_admin(root, "other") is None
    assert VerifiedSecrets().verify(root.users["admin"].password_hash, "given")


def test_ensure_admin_generates_a_password_to_show_once(root):
    generated = ensure_admin(root, None)
    assert generated and len(generated) >= 20
    assert VerifiedSecrets().verify(root.users["admin"].password_hash, generated)


def test_the_argon2_profile_sets_the_cost_of_new_hashes_and_old_ones_still_verify(caplog):
    try:
        use_argon2_profile("RFC_9106_LOW_MEMORY")
        strong = hash_password("pw")
        assert not caplog.records
        use_argon2_profile("CHEAPEST")
        assert "protect nothing" in caplog.text  # said loudly at start-up
        cheap = hash_password("pw")
        assert "$m=65536,t=3,p=4$" in strong and "$m=8,t=1,p=1$" in cheap
        assert VerifiedSecrets().verify(strong, "pw") and VerifiedSecrets().verify(cheap, "pw")
    finally:
        use_argon2_profile("RFC_9106_LOW_MEMORY")
