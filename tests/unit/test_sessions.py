"""The server-side record of browser sessions: ended for good, and bounded."""
from __future__ import annotations

import datetime

import pytest
import transaction
from ZODB.POSException import ConflictError

from shop.access import accounts, sessions
from shop.access.passwords import Passwords
from shop.model.folders import utcnow
from shop.model.people import User
from shop.model.root import app_root
from shop.model.bootstrap import bootstrap

pytestmark = pytest.mark.fault


def test_a_user_stored_before_sessions_were_kept_has_none_live():
    user = User("hash")
    assert "sessions" not in user.__dict__  # the class-level default, as for old records
    assert not sessions.is_live(user, "anything")
    sessions.end_session(user, "anything")
    sessions.end_all_sessions(user)
    assert sessions.is_live(user, sessions.open_session(user))


def test_ended_sessions_stay_ended():
    user = User("hash")
    first, second = sessions.open_session(user), sessions.open_session(user)
    sessions.end_session(user, first)
    assert not sessions.is_live(user, first) and sessions.is_live(user, second)
    sessions.end_all_sessions(user)
    assert not sessions.is_live(user, second)
    assert not sessions.is_live(user, None) and not sessions.is_live(user, 42)


def test_old_sessions_end_and_are_dropped_at_the_next_login():
    user = User("hash")
    old = sessions.open_session(user)
    user.sessions[old] -= sessions.MAX_AGE
    assert not sessions.is_live(user, old)
    sessions.open_session(user)
    assert old not in user.sessions


def test_a_user_keeps_at_most_max_sessions_and_the_oldest_go_first():
    user = User("hash")
    ids = [sessions.open_session(user) for _ in range(sessions.MAX_SESSIONS)]
    for minutes, session_id in enumerate(ids):  # begun a minute apart, no two at once
        user.sessions[session_id] = utcnow() - datetime.timedelta(minutes=len(ids) - minutes)
    ids += [sessions.open_session(user) for _ in range(5)]
    assert len(user.sessions) == sessions.MAX_SESSIONS
    assert not any(sessions.is_live(user, i) for i in ids[:5])
    assert all(sessions.is_live(user, i) for i in ids[5:])


@pytest.mark.parametrize("change", ["deactivate", "reset password", "log out everywhere"])
def test_a_login_racing_with_a_revocation_does_not_outlive_it(db, change):
    """The login read the user before the revocation committed: its commit must conflict
    (pyramid_retry then runs it again, and it is refused), even with no session open."""
    passwords = Passwords("CHEAPEST")
    with db.transaction() as conn:
        root, _ = bootstrap(conn.root(), None)
        user = accounts.add_user(root, "bob", "password-1234", passwords=passwords)
        sessions.end_session(user, sessions.open_session(user))  # logged in and out: no session
    login, admin = transaction.TransactionManager(), transaction.TransactionManager()
    racing, revoking = db.open(login), db.open(admin)
    try:
        login.begin()
        bob = app_root(racing).users["bob"]
        assert bob.active  # the login's check passed
        with admin:
            if change == "deactivate":
                accounts.set_user_flags(app_root(revoking), "bob", active=False)
            elif change == "reset password":
                accounts.set_password(app_root(revoking), "bob", "another-password", passwords=passwords)
            else:
                accounts.log_out_everywhere(app_root(revoking), "bob")
        sessions.open_session(bob)
        with pytest.raises(ConflictError):
            login.commit()
    finally:
        login.abort()
        racing.close()
        revoking.close()
