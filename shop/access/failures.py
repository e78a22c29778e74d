"""Failed logins, for the audit log: noted on the request, admitted within bounds.

A login that fails changes nothing and its request is rolled back, so it cannot be recorded
in the request's transaction: the access code notes it on the request (``note``), and after
the request ``shop.views.actors`` hands what ``FailedLogins.admit`` lets through to the
process's writer, which records it in a transaction of its own.

What keeps a flood of failures from flooding the log (``FailedLogins``, per process, over a
window of 15 minutes): the same attempt again (same way, name, address and secret: pip's
many requests with one stale password) is recorded once; an attempt the throttle refused
unchecked is recorded once per name and address; at most ``per_address`` failures from one
address and ``total`` in all are recorded, and the one that reaches a limit says so in the
entry. The log's growth from failures is thereby at most ``total`` entries per window.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass

from shop.model.names import MAX_NAME_LENGTH

NOTED = "shop.access.failed_logins"  # the environ key of a request's failed logins
FORM, BASIC, CREDENTIAL, ACCOUNT = "form", "basic", "credential", "password-form"  # how


@dataclass(frozen=True)
class FailedLogin:
    user: str  # the name tried (cut to MAX_NAME_LENGTH); a credential's owner, when it exists
    address: str
    how: str  # FORM, BASIC, CREDENTIAL or ACCOUNT (the current password on /+account)
    via: str = ""  # the access key tried
    throttled: bool = False  # refused by the throttle, unchecked
    secret: str = ""  # what was tried, to tell repeats apart: only a keyed digest is kept

    def detail(self) -> dict[str, str]:
        return {"how": self.how, **({"throttled": "true"} if self.throttled else {})}


def note(environ: dict, user: str, address: str | None, how: str, *, via: str = "",
         throttled: bool = False, secret: str = "") -> None:
    """Note a failed login on the request whose WSGI environ this is."""
    environ.setdefault(NOTED, []).append(FailedLogin(
        user[:MAX_NAME_LENGTH], address or "", how, via[:MAX_NAME_LENGTH], throttled, secret))


def noted(environ: dict) -> list[FailedLogin]:
    """The failed logins noted on a request."""
    return environ.get(NOTED, [])


class FailedLogins:
    """Which failed logins of this process are recorded: see the module's docstring."""

    def __init__(self, per_address: int = 30, total: int = 1000, window: float = 900.0) -> None:
        self.per_address, self.total, self.window = per_address, total, window
        self._recorded: deque[tuple[float, bytes, str]] = deque()  # (time, attempt, address)
        self._attempts: set[bytes] = set()
        self._addresses: dict[str, int] = {}
        self._lock = threading.Lock()
        self._key = secrets.token_bytes(32)

    def _forget_old(self, now: float) -> None:
        while self._recorded and now - self._recorded[0][0] > self.window:
            _, attempt, address = self._recorded.popleft()
            self._attempts.discard(attempt)
            self._addresses[address] -= 1
            if not self._addresses[address]:
                del self._addresses[address]

    def _digest(self, failure: FailedLogin) -> bytes:
        secret = "" if failure.throttled else failure.secret
        text = "\0".join((failure.how, failure.user, failure.via, failure.address,
                          str(failure.throttled), secret))
        return hmac.new(self._key, text.encode(), hashlib.sha256).digest()[:16]

    def admit(self, failure: FailedLogin) -> dict[str, str] | None:
        """The entry's detail if ``failure`` is to be recorded, else None."""
        now, attempt = time.monotonic(), self._digest(failure)
        with self._lock:
            self._forget_old(now)
            from_address = self._addresses.get(failure.address, 0)
            if (attempt in self._attempts or from_address >= self.per_address
                    or len(self._recorded) >= self.total):
                return None
            self._recorded.append((now, attempt, failure.address))
            self._attempts.add(attempt)
            self._addresses[failure.address] = from_address + 1
            detail = failure.detail()
            minutes = round(self.window / 60)
            if from_address + 1 == self.per_address:
                detail["limit"] = (f"further failed logins from {failure.address or 'this address'}"
                                   f" are not recorded for {minutes} minutes")
            elif len(self._recorded) == self.total:
                detail["limit"] = f"further failed logins are not recorded for {minutes} minutes"
            return detail
