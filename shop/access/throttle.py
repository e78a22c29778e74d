"""The login throttle: password checks refused after repeated failures, per process."""
from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import defaultdict, deque


class LoginThrottle:
    """Refuses password checks after repeated failures: for an account from one address, and
    for any account from one address (password spraying).

    There is deliberately no lock on an account as such: anyone could then lock its owner
    out by failing on purpose. Only different wrong passwords count: the same wrong one sent
    again (a browser's or a CI job's stale password, on every page, stylesheet and icon) is no
    new guess. Counts are per process; a password is remembered only as a keyed digest.
    """

    def __init__(self, per_account: int = 5, per_address: int = 30, window: float = 900.0):
        self.per_account, self.per_address, self.window = per_account, per_address, window
        self._failures: dict[tuple, deque] = defaultdict(deque)  # of (time, attempt digest)
        self._lock = threading.Lock()
        self._key = secrets.token_bytes(32)

    def _recent(self, key: tuple, now: float) -> int:
        failures = self._failures.get(key)
        if not failures:
            return 0
        while failures and now - failures[0][0] > self.window:
            failures.popleft()
        return len(failures)

    def retry_after(self, username: str, address: str | None) -> int:
        """Seconds until the oldest failure that blocks this account and address expires."""
        now = time.monotonic()
        with self._lock:
            oldest = [f[0][0] for f in (self._failures.get(("account", username, address)),
                                        self._failures.get(("address", address))) if f]
        return max(1, int(self.window - (now - min(oldest)))) if oldest else 1

    def _digest(self, username: str, password: str) -> bytes:
        return hmac.new(self._key, f"{username}\0{password}".encode(), hashlib.sha256).digest()[:16]

    def blocked(self, username: str, address: str | None) -> bool:
        """Whether checks for this account from this address are refused for now."""
        now = time.monotonic()
        with self._lock:
            return (
                self._recent(("account", username, address), now) >= self.per_account
                or self._recent(("address", address), now) >= self.per_address
            )

    def failed(self, username: str, address: str | None, password: str = "") -> None:
        """Count a failed check against the account from the address, and against the address,
        unless this same wrong password for this account failed there within the window."""
        now = time.monotonic()
        attempt = self._digest(username, password)
        with self._lock:
            account = self._failures[("account", username, address)]
            self._recent(("account", username, address), now)
            if any(a == attempt for _, a in account):
                return
            account.append((now, attempt))
            self._failures[("address", address)].append((now, attempt))

    def succeeded(self, username: str, address: str | None) -> None:
        """Forget the account's failures from the address (the address's own count stays)."""
        with self._lock:
            self._failures.pop(("account", username, address), None)
