"""``POST /+pack`` through WebTest on a real FileStorage with blobs: who may pack, what it
answers, and that a deleted release's blob leaves the disk."""
from __future__ import annotations

import time

import pytest

from shop.access import accounts
from shop.model import repositories
from shop.operations.pack import PackSchedule, blob_directory, directory_bytes
from shop.services import services_of
from shop.settings import SettingsError, read_settings
from tests.conftest import basic_auth
from tests.factories import make_wheel
from tests.functional.conftest import ADMIN, database_root, passwords, uploaded

PASSWORD = "password-1234"


def blob_bytes(app) -> int:
    uri = app.app.registry.settings["zodbconn.uri"]
    return directory_bytes(blob_directory(uri))


def add_user(app, name: str, *, admin: bool = False) -> dict:
    with database_root(app) as root:
        accounts.add_user(root, name, PASSWORD, passwords=passwords(app), admin=admin)
    return basic_auth(name, PASSWORD)


def test_anonymous_pack_is_asked_for_credentials(app):
    r = app.post("/+pack", status=401)
    assert r.headers["WWW-Authenticate"].startswith("Basic")


def test_a_user_who_is_not_an_admin_may_not_pack(app):
    r = app.post("/+pack", headers=add_user(app, "bob"), status=403)
    assert "bob may not do this here" in r.text


def test_an_admins_access_key_may_not_pack_only_the_admins_password(app):
    with database_root(app) as root:
        key, secret, _ = accounts.create_credential(root, "admin", repository=None, upload=True)
    r = app.post("/+pack", headers=basic_auth(key, secret), status=403)
    assert "credentials are for installing and uploading only" in r.text


def test_wrong_admin_password_is_refused(app):
    app.post("/+pack", headers=basic_auth("admin", "wrong"), status=401)


def test_an_admin_packs_and_gets_the_sizes_before_and_after_in_json(app):
    uploaded(app, make_wheel("demo", "1.0"))
    r = app.post("/+pack", headers=add_user(app, "carol", admin=True), status=200)
    assert r.content_type == "application/json"
    body = r.json
    assert set(body) == {"days", "before", "after", "seconds"}
    assert set(body["after"]) == {"data_bytes", "blob_bytes", "old_bytes"}
    assert body["after"]["old_bytes"] == body["before"]["data_bytes"]  # Data.fs.old
    assert body["days"] == 0
    assert body["before"]["data_bytes"] > 0 and body["before"]["blob_bytes"] > 0
    assert body["after"]["data_bytes"] <= body["before"]["data_bytes"]
    assert body["seconds"] >= 0


def test_packing_needs_no_csrf_token_but_a_get_is_not_a_pack(app):
    app.post("/+pack", headers=ADMIN, status=200)  # no session, no token: Basic is enough
    app.get("/+pack", headers=ADMIN, status=404)


@pytest.mark.parametrize("days", ["-1", "soon", "nan", "inf"])
def test_malformed_days_are_refused_saying_why(app, days):
    r = app.post("/+pack", {"days": days}, headers=ADMIN, status=400)
    assert "days of history" in r.text


def test_packing_frees_the_blob_of_a_deleted_release(app):
    big = make_wheel("big", "1.0", padding=2_000_000)
    uploaded(app, big, make_wheel("small", "1.0"))
    stored = blob_bytes(app)
    with database_root(app) as root:
        package = root.repositories["default"]["big"]
        repositories.delete(package[next(iter(package.keys()))])
    assert blob_bytes(app) == stored  # deleting keeps the bytes: history still names them

    body = app.post("/+pack", headers=ADMIN, status=200).json

    assert stored - blob_bytes(app) >= 2_000_000
    assert body["before"]["blob_bytes"] - body["after"]["blob_bytes"] >= 2_000_000
    assert app.get("/simple/small/").status_int == 200


def test_packing_keeping_days_of_history_keeps_a_blob_deleted_today(app):
    uploaded(app, make_wheel("big", "1.0", padding=1_000_000))
    with database_root(app) as root:
        package = root.repositories["default"]["big"]
        repositories.delete(package[next(iter(package.keys()))])
    stored = blob_bytes(app)

    app.post("/+pack", {"days": "1"}, headers=ADMIN, status=200)

    assert blob_bytes(app) == stored


def test_the_server_packs_only_when_shop_pack_days_is_set(make_app):
    app = make_app()
    assert services_of(app.app.registry).settings.pack_days is None


@pytest.mark.parametrize("raw, days", [("7", 7.0), ("0", 0.0), ("0.5", 0.5), ("", None)])
def test_shop_pack_days_is_read(raw, days):
    assert read_settings({"shop.pack_days": raw, "shop.secret": "s"}).pack_days == days


@pytest.mark.parametrize("raw", ["-1", "weekly", "nan", "inf", "7 days"])
def test_a_malformed_shop_pack_days_stops_start_up_naming_the_key(make_app, raw):
    with pytest.raises(SettingsError, match="shop.pack_days"):
        make_app(**{"shop.pack_days": raw})


def test_the_schedule_packs_in_a_thread_of_its_own_while_requests_go_on(app):
    uploaded(app, make_wheel("big", "1.0", padding=1_000_000))
    with database_root(app) as root:
        package = root.repositories["default"]["big"]
        repositories.delete(package[next(iter(package.keys()))])
    stored = blob_bytes(app)
    schedule = PackSchedule(services_of(app.app.registry).packer, 0, interval=0.05).start()
    try:
        deadline = time.monotonic() + 10
        while schedule.packs == 0 and time.monotonic() < deadline:
            assert app.get("/simple/").status_int == 200
            time.sleep(0.02)
    finally:
        schedule.stop()
    assert schedule.packs >= 1
    assert stored - blob_bytes(app) >= 1_000_000


def test_a_logged_in_browser_cannot_be_made_to_pack_by_another_site(app):
    """No CSRF token: so an admin's session cookie alone does not pack (another site's form
    could post with it); only HTTP Basic does."""
    from tests.functional.test_admin import login

    login(app)  # the TestApp keeps the session cookie
    assert app.get("/+account").status_int == 200
    r = app.post("/+pack", status=401)
    assert "Authentication required" in r.status
    app.post("/+pack", headers=ADMIN, status=200)
