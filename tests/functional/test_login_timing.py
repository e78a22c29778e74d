"""Timing tells no names apart: a refusal costs the same whether the account exists or not.

The app hashes with the default argon2 profile (RFC_9106_LOW_MEMORY, ~100 ms a check), the
cost that made unknown names stand out; CHEAPEST would hide the difference.
"""
from __future__ import annotations

import statistics
import time

import pytest

from shop.access import accounts
from tests.conftest import basic_auth
from tests.functional.conftest import database_root
from tests.functional.test_admin import add_user, login

pytestmark = pytest.mark.fault

WRONG = "wrong-password"
UNKNOWN_KEY = "0123456789abcdef0123456789abcdef"  # an access key's shape, but no credential


def timed(request) -> float:
    started = time.perf_counter()
    request()
    return time.perf_counter() - started


def medians(attempts: dict, rounds: int) -> dict[str, float]:
    """The median time of each kind of attempt, the kinds taking turns (``attempt(round)``)."""
    times: dict[str, list[float]] = {name: [] for name in attempts}
    for n in range(rounds):
        for name, attempt in attempts.items():
            times[name].append(timed(lambda: attempt(n)))
    return {name: statistics.median(t) for name, t in times.items()}


def assert_alike(found: dict[str, float]) -> None:
    """No kind of attempt three times as fast as another (the defect was 50 times)."""
    assert max(found.values()) < 3 * min(found.values()), found


def address(n: int) -> dict:
    # A new address each round: the throttle, which answers at once, stays out of the way.
    return {"REMOTE_ADDR": f"198.51.100.{n + 1}"}


@pytest.fixture
def people(app):
    """An active user and a deactivated one beside the admin."""
    add_user(app, "olga")
    add_user(app, "pat")
    with database_root(app) as root:
        accounts.set_user_flags(root, "pat", active=False)
    return app


def test_a_wrong_basic_password_costs_the_same_for_every_kind_of_name(people):
    def attempt(name: str):
        return lambda n: people.get("/+account", headers=basic_auth(name, WRONG),
                                    extra_environ=address(n), status=401)

    attempts = {"existing": attempt("olga"), "unknown": attempt("nobody"),
                "deactivated": attempt("pat")}
    medians(attempts, 1)  # warm up: templates, the dummy hash
    found = medians(attempts, 5)
    assert_alike(found)
    assert min(found.values()) > 0.01  # each one an argon2 check, not a dictionary look-up


def test_a_wrong_login_form_password_costs_the_same_for_every_kind_of_name(people):
    form = people.get("/+login").forms["login-form"]

    def attempt(name: str):
        def submit(n: int):
            form["username"], form["password"] = name, WRONG
            form.submit(status=400, extra_environ=address(n))
        return submit

    attempts = {"existing": attempt("olga"), "unknown": attempt("nobody"),
                "deactivated": attempt("pat")}
    medians(attempts, 1)
    assert_alike(medians(attempts, 5))


def test_a_wrong_secret_costs_the_same_for_known_and_unknown_access_keys(app):
    with database_root(app) as root:
        key, _, _ = accounts.create_credential(root, "admin")

    def attempt(access_key: str):
        return lambda n: app.get("/+account", headers=basic_auth(access_key, "0" * 32),
                                 extra_environ=address(n), status=401)

    attempts = {"known": attempt(key), "unknown": attempt(UNKNOWN_KEY)}
    medians(attempts, 1)
    found = medians(attempts, 15)
    assert_alike(found)
    assert max(found.values()) < 0.05  # a sha256 each, no argon2 spent on a random key


def test_unknown_names_are_throttled_like_known_ones(app):
    for i in range(5):
        login(app, "nobody", WRONG + str(i), status=400, address="192.0.2.7")
    login(app, "nobody", WRONG, status=429, address="192.0.2.7")
    login(app, "nobody", WRONG, status=400, address="192.0.2.8")
