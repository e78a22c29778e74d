"""Browser sessions end on the server: a copy of the cookie dies with the session."""
from __future__ import annotations

import pytest

from shop.access import accounts
from shop.access.policy import SESSION_COOKIE
from shop.storage import database
from tests.functional.conftest import database_root, passwords
from tests.functional.test_admin import PASSWORD, add_user, flash, form_with, login

pytestmark = pytest.mark.fault


def browser(app, user: str = "admin", password: str | None = None):
    """A browser of its own (its own cookies), logged in as ``user``."""
    other = app.__class__(app.app)
    if user == "admin" and password is None:
        login(other)
    else:
        login(other, user, password or PASSWORD)
    return other


def stolen_cookie(browser_app) -> str:
    """The session cookie as somebody who copied it would keep it."""
    return browser_app.cookies[SESSION_COOKIE]


def replay(app, cookie: str, status: int) -> None:
    """Use a copied cookie from a browser that never logged in."""
    thief = app.__class__(app.app)
    thief.set_cookie(SESSION_COOKIE, cookie)
    thief.get("/+account", status=status)


def test_a_cookie_copied_before_logout_is_refused_after_it(app):
    page = login(app).follow()
    cookie = stolen_cookie(app)
    replay(app, cookie, 200)
    page.forms[0].submit(status=302)  # the layout's "Log out" form
    replay(app, cookie, 302)
    login(app)
    app.get("/+account", status=200)  # logging in again makes a new session


def test_logout_ends_only_that_session(app):
    add_user(app, "hana")
    first, second = browser(app, "hana"), browser(app, "hana")
    first.get("/").forms[0].submit(status=302)
    first.get("/+account", status=302)
    second.get("/+account", status=200)


def test_log_out_everywhere_ends_every_session_of_the_user(app):
    add_user(app, "ivan")
    first, second = browser(app, "ivan"), browser(app, "ivan")
    admin = browser(app)
    cookie = stolen_cookie(second)
    page = first.get("/+account").forms["log-out-everywhere"].submit(status=302).follow()
    assert flash(page) == ["You are logged out everywhere, in this browser too."]
    first.get("/+account", status=302)
    second.get("/+account", status=302)
    replay(app, cookie, 302)
    admin.get("/+account", status=200)  # other users' sessions go on
    login(second, "ivan", PASSWORD)
    second.get("/+account", status=200)


def test_log_out_everywhere_needs_the_csrf_token(app):
    first = browser(app)
    first.post("/+account", {"action": "sessions"}, status=400)
    first.get("/+account", status=200)


def test_an_admin_logs_a_user_out_everywhere(app):
    add_user(app, "jan")
    first, second = browser(app, "jan"), browser(app, "jan")
    admin = browser(app)
    page = form_with(admin.get("/+users"), user="jan", action="sessions").submit(status=302).follow()
    assert flash(page) == ["Logged jan out everywhere."]
    first.get("/+account", status=302)
    second.get("/+account", status=302)
    admin.get("/+users", status=200)
    first.get("/+users", status=302)


def test_reactivating_a_user_does_not_bring_the_old_sessions_back(app):
    add_user(app, "kim")
    kim = browser(app, "kim")
    cookie = stolen_cookie(kim)
    admin = browser(app)
    form_with(admin.get("/+users"), user="kim", action="active").submit(status=302)
    kim.get("/+account", status=302)
    form_with(admin.get("/+users"), user="kim", action="active").submit(status=302)
    with database_root(app) as root:
        assert root.users["kim"].active
    kim.get("/+account", status=302)
    replay(app, cookie, 302)
    login(kim, "kim", PASSWORD)
    kim.get("/+account", status=200)


def test_a_password_change_ends_the_other_sessions_and_keeps_this_one(app):
    add_user(app, "lea")
    this, other = browser(app, "lea"), browser(app, "lea")
    old_cookie = stolen_cookie(this)
    form = this.get("/+account").forms["change-password"]
    form["current_password"], form["new_password"], form["repeat_password"] = (
        PASSWORD, "new-password-1", "new-password-1")
    form.submit(status=302)
    this.get("/+account", status=200)
    other.get("/+account", status=302)
    replay(app, old_cookie, 302)  # this browser's cookie from before the change, too


def test_a_password_reset_by_an_admin_ends_the_sessions(app):
    add_user(app, "max")
    user = browser(app, "max")
    cookie = stolen_cookie(user)
    admin = browser(app)
    form = form_with(admin.get("/+users"), user="max", action="password")
    form["password"] = "another-password"
    form.submit(status=302)
    user.get("/+account", status=302)
    replay(app, cookie, 302)


def test_a_password_set_from_the_command_line_ends_the_sessions(app):
    add_user(app, "noa")
    user = browser(app, "noa")
    with database_root(app) as root:
        accounts.set_password(root, "noa", "another-password", passwords=passwords(app))
    user.get("/+account", status=302)


def test_reading_the_identity_from_a_session_writes_nothing(app):
    admin = browser(app)
    db = database(app.app.registry)
    before = db.lastTransaction()
    for _ in range(3):
        admin.get("/+account", status=200)
        admin.get("/", status=200)
    assert db.lastTransaction() == before


def test_a_session_cookie_without_a_session_id_is_refused(app):
    """Cookies of the releases before sessions were kept on the server: logged out once."""
    admin = browser(app)
    with database_root(app) as root:
        del root.users["admin"].sessions  # a user stored before: the class-level default
    admin.get("/+account", status=302)
    login(admin)
    admin.get("/+account", status=200)
