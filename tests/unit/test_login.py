"""The one login check: HTTP Basic and the login form consult and feed the same throttle."""
from __future__ import annotations

import pytest

from shop.access import accounts
from shop.access.login import LoginRefused, LoginThrottled, log_in
from shop.access.passwords import Passwords
from shop.access.policy import basic_identity

PASSWORD = "password-1234"
HERE, ELSEWHERE = "192.0.2.1", "192.0.2.2"


@pytest.fixture
def passwords():
    return Passwords("CHEAPEST")


@pytest.fixture
def alice(root, passwords):
    return accounts.add_user(root, "alice", PASSWORD, passwords=passwords)


def form_login(root, passwords, password: str = PASSWORD, address: str = HERE):
    return log_in(root, "alice", password, passwords, address)


def basic_login(root, passwords, password: str = PASSWORD, address: str = HERE):
    return basic_identity(root, "alice", password, passwords, address)


def test_the_right_password_logs_in_and_a_wrong_one_says_why(root, passwords, alice):
    assert form_login(root, passwords) is alice
    with pytest.raises(LoginRefused) as refused:
        form_login(root, passwords, "wrong-password")
    assert str(refused.value) == "Wrong user name or password (or the account is deactivated)."
    with pytest.raises(LoginRefused):
        log_in(root, "nobody", PASSWORD, passwords, HERE)


def test_a_deactivated_account_cannot_log_in(root, passwords, alice):
    accounts.set_user_flags(root, "alice", active=False)
    with pytest.raises(LoginRefused):
        form_login(root, passwords)
    assert basic_login(root, passwords) is None


def test_five_failures_hold_up_the_account_from_that_address_only(root, passwords, alice):
    for i in range(5):
        with pytest.raises(LoginRefused):
            form_login(root, passwords, f"wrong-password-{i}")
    with pytest.raises(LoginThrottled) as throttled:
        form_login(root, passwords)  # even the right password
    assert str(throttled.value).startswith("Too many failed attempts")
    assert form_login(root, passwords, address=ELSEWHERE) is alice


def test_a_basic_success_clears_the_failure_count(root, passwords, alice):
    for i in range(4):
        assert basic_login(root, passwords, f"wrong-password-{i}") is None
    assert basic_login(root, passwords).userid == "alice"
    for i in range(4):
        assert basic_login(root, passwords, f"wrong-password-{i}") is None
    assert basic_login(root, passwords).userid == "alice"  # 4 failures since the success, not 8


def test_a_basic_success_clears_the_count_the_form_keeps(root, passwords, alice):
    for i in range(4):
        with pytest.raises(LoginRefused):
            form_login(root, passwords, f"wrong-password-{i}")
    assert basic_login(root, passwords) is not None
    for i in range(4):
        with pytest.raises(LoginRefused):
            form_login(root, passwords, f"wrong-password-{i}")
    assert form_login(root, passwords) is alice


def test_failed_basic_attempts_throttle_the_login_form(root, passwords, alice):
    for i in range(5):
        assert basic_login(root, passwords, f"wrong-password-{i}") is None
    with pytest.raises(LoginThrottled):
        form_login(root, passwords)
    assert form_login(root, passwords, address=ELSEWHERE) is alice


def test_failed_form_logins_throttle_basic(root, passwords, alice):
    for i in range(5):
        with pytest.raises(LoginRefused):
            form_login(root, passwords, f"wrong-password-{i}")
    assert basic_login(root, passwords) is None  # even the right password
    assert basic_login(root, passwords, address=ELSEWHERE) is not None


def test_credentials_are_not_throttled_by_password_failures(root, passwords, alice):
    access_key, secret_key, _ = accounts.create_credential(root, "alice")
    for _ in range(5):
        assert basic_identity(root, access_key, "wrong", passwords, HERE) is None
    identity = basic_identity(root, access_key, secret_key, passwords, HERE)
    assert identity.userid == "alice" and identity.access_key == access_key


def test_the_same_wrong_password_counts_once(root, passwords, alice):
    for _ in range(20):
        assert basic_login(root, passwords, "stale-password") is None
    assert basic_login(root, passwords).userid == "alice"
    for i in range(5):
        form_login_refused = pytest.raises(LoginRefused)
        with form_login_refused:
            form_login(root, passwords, f"guess-{i}")
    with pytest.raises(LoginThrottled):
        form_login(root, passwords)
    assert 1 <= passwords.throttle.retry_after("alice", HERE) <= passwords.throttle.window
