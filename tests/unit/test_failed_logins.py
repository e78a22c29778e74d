"""Which failed logins reach the audit log (shop/access/failures.py): a flood is bounded."""
from __future__ import annotations

from shop.access.failures import BASIC, CREDENTIAL, FORM, FailedLogin, FailedLogins


def attempt(n: int = 0, address: str = "10.0.0.1", **kw) -> FailedLogin:
    return FailedLogin(kw.pop("user", "alice"), address, kw.pop("how", FORM), secret=f"guess-{n}", **kw)


def test_the_same_attempt_again_is_recorded_once():
    gate = FailedLogins()
    assert gate.admit(attempt(1)) == {"how": FORM}
    assert gate.admit(attempt(1)) is None
    assert gate.admit(attempt(1, how=BASIC)) == {"how": BASIC}  # another way in is another attempt
    assert gate.admit(attempt(2)) is not None


def test_throttled_attempts_are_recorded_once_per_name_and_address():
    gate = FailedLogins()
    assert gate.admit(attempt(1, throttled=True)) == {"how": FORM, "throttled": "true"}
    assert gate.admit(attempt(2, throttled=True)) is None
    assert gate.admit(attempt(3, throttled=True, address="10.0.0.2")) is not None


def test_one_address_and_all_of_them_are_capped_and_the_last_entry_says_so():
    gate = FailedLogins(per_address=3, total=5)
    admitted = [gate.admit(attempt(n)) for n in range(10)]
    assert [a is not None for a in admitted] == [True] * 3 + [False] * 7
    assert "further failed logins from 10.0.0.1 are not recorded for 15 minutes" in admitted[2]["limit"]
    others = [gate.admit(attempt(n, address=f"10.1.0.{n}", how=CREDENTIAL)) for n in range(5)]
    assert [o is not None for o in others] == [True, True, False, False, False]
    assert others[1]["limit"] == "further failed logins are not recorded for 15 minutes"


def test_the_window_passes_and_recording_resumes():
    gate = FailedLogins(per_address=1, total=1, window=-1.0)  # all before now is past
    assert gate.admit(attempt(1)) is not None
    assert gate.admit(attempt(1)) is not None  # out of the window: counts again
