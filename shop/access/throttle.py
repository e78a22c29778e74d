"""The login throttle: password checks refused after repeated failures, per process."""
from __future__ import annotations

import threading
import time
from collections import defaultdict, deque


class LoginThrottle:
    """Refuses password checks after repeated failures: for an account from one address, and
    for any account from one address (password spraying).

    There is deliberately no lock on an account as such: anyone could then lock its owner
    out by failing on purpose. Counts are per process.
    """

    def __init__(self, per_account: int = 5, per_address: int = 30, window: float = 900.0):
        self.per_account, self.per_address, self.window = per_account, per_address, window
        self._failures: dict[tuple, deque] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, key: tuple, now: float) -> int:
        times = self._failures.get(key)
        if not times:
            return 0
        while times and now - times[0] > self.window:
            times.popleft()
        return len(times)

    def blocked(self, username: str, address: str | None) -> bool:
        """Whether checks for this account from this address are refused for now."""
        now = time.monotonic()
        with self._lock:
            return (
                self._recent(("account", username, address), now) >= self.per_account
                or self._recent(("address", address), now) >= self.per_address
            )

    def failed(self, username: str, address: str | None) -> None:
        """Count a failed check against the account from the address, and against the address."""
        now = time.monotonic()
        with self._lock:
            self._failures[("account", username, address)].append(now)
            self._failures[("address", address)].append(now)

    def succeeded(self, username: str, address: str | None) -> None:
        """Forget the account's failures from the address (the address's own count stays)."""
        with self._lock:
            self._failures.pop(("account", username, address), None)
