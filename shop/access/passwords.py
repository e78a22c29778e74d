"""Passwords: argon2id hashes made with the configured profile, checked once per process.

One ``Passwords`` object per process (``request.shop.passwords``): it holds the hasher for
``shop.argon2_profile``, the cache of secrets that verified, and the login throttle.
"""
from __future__ import annotations

import functools
import hashlib
import logging
import secrets
import threading
from collections import OrderedDict

import argon2.profiles
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from shop.access.throttle import LoginThrottle

log = logging.getLogger(__name__)


class VerifiedSecrets:
    """Remembers which (stored hash, secret) pairs verified, so argon2 runs once per process.

    pip sends credentials on every request; an argon2 check costs tens of milliseconds.
    The key includes the stored hash, so a changed password misses the cache at once, and
    only a digest of the secret is kept.
    """

    def __init__(self, size: int = 4096, concurrency: int = 2,
                 hasher: PasswordHasher | None = None) -> None:
        self._seen: OrderedDict[bytes, None] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()
        # Checking reads the parameters stored in the hash, so any hasher checks any hash.
        self._hasher = hasher or PasswordHasher()
        # argon2 takes 64 MiB and ~100 ms per check: a burst of wrong passwords must queue
        # rather than multiply the server's memory.
        self._slots = threading.BoundedSemaphore(concurrency)

    def verify(self, stored_hash: str, secret: str) -> bool:
        """Whether ``secret`` matches ``stored_hash`` (argon2 runs only for a pair not seen)."""
        key = hashlib.sha256(f"{stored_hash}\0{secret}".encode()).digest()
        with self._lock:
            if key in self._seen:
                self._seen.move_to_end(key)
                return True
        try:
            with self._slots:
                self._hasher.verify(stored_hash, secret)
        except (VerificationError, InvalidHashError):
            return False
        with self._lock:
            self._seen[key] = None
            while len(self._seen) > self._size:
                self._seen.popitem(last=False)
        return True


class Passwords:
    """A process's password service: hashing, checking with a cache, the login throttle."""

    def __init__(self, profile: str) -> None:
        """Hash new passwords with ``argon2.profiles.<profile>`` (``shop.argon2_profile``)."""
        self._hasher = PasswordHasher.from_parameters(getattr(argon2.profiles, profile))
        # Checking uses the parameters stored in each hash: those made with another profile
        # (before shop.argon2_profile changed) still check.
        self.verified = VerifiedSecrets(hasher=self._hasher)
        self.throttle = LoginThrottle()
        if profile == "CHEAPEST":
            log.warning("shop.argon2_profile = CHEAPEST: new password hashes protect nothing "
                        "(meant for test suites only)")

    def hash(self, password: str) -> str:
        """An argon2id hash of ``password``, made with this process's profile."""
        return self._hasher.hash(password)

    def verify(self, stored_hash: str, password: str) -> bool:
        """Whether ``password`` matches ``stored_hash`` (remembered once it did)."""
        return self.verified.verify(stored_hash, password)

    @functools.cached_property
    def dummy_hash(self) -> str:
        """A hash of a random password nobody knows, made once per process with the profile.

        Checking a password for a name with no usable account against it costs what a wrong
        password for a real account costs, so timing does not tell which names exist.
        """
        return self._hasher.hash(secrets.token_urlsafe(32))
