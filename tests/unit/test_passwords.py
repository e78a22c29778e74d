"""Passwords: argon2 hashes with the configured profile, and the cache of verified secrets."""
from __future__ import annotations

import pytest

from shop.access.passwords import Passwords, VerifiedSecrets


@pytest.fixture(scope="module")
def stored_hash():
    return Passwords("RFC_9106_LOW_MEMORY").hash("right")


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
    passwords = Passwords("RFC_9106_LOW_MEMORY")
    verified = VerifiedSecrets()
    old = passwords.hash("old")
    assert verified.verify(old, "old")
    new = passwords.hash("new")  # the password was changed
    assert not verified.verify(new, "old")
    assert verified.verify(new, "new")
    assert len(verified._seen) == 2


def test_the_cache_forgets_the_least_recently_used_pair(stored_hash):
    verified = VerifiedSecrets(size=1)
    other = Passwords("RFC_9106_LOW_MEMORY").hash("other")
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


def test_the_service_remembers_what_verified(stored_hash):
    passwords = Passwords("CHEAPEST")
    assert passwords.verify(stored_hash, "right") and not passwords.verify(stored_hash, "wrong")
    assert len(passwords.verified._seen) == 1


def test_the_argon2_profile_sets_the_cost_of_new_hashes_and_old_ones_still_verify(caplog):
    strong = Passwords("RFC_9106_LOW_MEMORY").hash("pw")
    assert not caplog.records
    cheapest = Passwords("CHEAPEST")
    assert "protect nothing" in caplog.text  # said loudly at start-up
    cheap = cheapest.hash("pw")
    assert "$m=65536,t=3,p=4$" in strong and "$m=8,t=1,p=1$" in cheap
    assert VerifiedSecrets().verify(strong, "pw") and VerifiedSecrets().verify(cheap, "pw")
    assert cheapest.verify(strong, "pw")  # whatever the profile, old hashes still check


def test_each_service_keeps_its_own_profile():
    cheapest, strong = Passwords("CHEAPEST"), Passwords("RFC_9106_LOW_MEMORY")
    assert "$m=8,t=1,p=1$" in cheapest.hash("pw")  # no process-wide hasher to overwrite
    assert "$m=65536,t=3,p=4$" in strong.hash("pw")


@pytest.mark.fault
def test_the_dummy_hash_is_made_once_with_the_profile_and_matches_nothing():
    passwords = Passwords("CHEAPEST")
    assert passwords.dummy_hash is passwords.dummy_hash  # once per process, not per attempt
    assert "$m=8,t=1,p=1$" in passwords.dummy_hash  # the profile's cost, like real hashes
    assert not passwords.verify(passwords.dummy_hash, "")
