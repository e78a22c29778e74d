"""The audit log through the real app: each change made over HTTP once, by whom, from where;
nothing for what was refused or rolled back; /+audit filtered and paged, for admins only."""
from __future__ import annotations

import json
import re
import time

import pytest
import webtest

from shop.access import accounts
from shop.model import audit, events
from shop.model.names import version_key
from shop.operations.retention import Periodic
from shop.scripts import cli
from shop.services import services_of
from shop.views.actors import FAILED_LOGINS
from tests.conftest import ADMIN_PASSWORD, basic_auth
from tests.factories import make_wheel
from tests.functional.conftest import ANONYMOUS_READ, database_root, passwords, upload
from tests.functional.test_admin import form_with, login
from tests.smalldisk import fill, tmpfs
from tests.storecheck import settled

PASSWORD = "password-1234"
ADMIN_AT, ALICE_AT, UPLOADER_AT, CI_AT = "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5"


def client(app, address: str) -> webtest.TestApp:
    """Another browser or client of the same app, at ``address`` (its REMOTE_ADDR)."""
    return webtest.TestApp(app.app, extra_environ={"REMOTE_ADDR": address})


def entries(app) -> list[audit.Entry]:
    """The committed entries, oldest first (after the writer recorded the failed logins)."""
    assert services_of(app.app.registry).writer.wait_for(FAILED_LOGINS, 30)
    with database_root(app) as root:
        return list(audit.log_of(root).since())


def summary(found: list[audit.Entry]) -> list[tuple]:
    return [(e.kind, e.user, e.address, e.repository, e.project) for e in found]


def add_user_on_the_page(admin, name: str) -> None:
    form = admin.get("/+users").forms["add-user"]
    form["user"], form["password"] = name, PASSWORD
    form.submit(status=302)


def set_up_people(admin) -> None:
    """alice and bob, alice an uploader of ``default``; a repository ``team``, configured."""
    add_user_on_the_page(admin, "alice")
    add_user_on_the_page(admin, "bob")
    form = admin.get("/repo/default/+settings").forms["give-role"]
    form["kind"], form["name"], form["role"] = "user", "alice", "uploader"
    form.submit(status=302)
    form = admin.get("/+repositories").forms["new-repository"]
    form["name"] = "team"
    settings = form.submit(status=302).follow().forms["repository-settings"]
    settings["anonymous_read"] = True
    settings.submit(status=302)


def manage_releases(admin) -> None:
    release = f"/repo/default/demo/{version_key('1.0')}/"
    admin.get(release + "+yank").forms["confirm"].submit(status=302)
    admin.get(release + "+unyank").forms["confirm"].submit(status=302)
    admin.get(f"/repo/default/demo/{version_key('2.0')}/+delete").forms["confirm"].submit(status=302)
    owners = admin.get("/repo/default/demo/+browse").forms["owners"]
    owners["user"] = "bob"
    owners.submit("action", value="add", status=302)


def manage_accounts(admin) -> None:
    users = admin.get("/+users")
    groups = form_with(users, user="alice", action="groups")
    groups["groups"] = "dev"
    groups.submit(status=302)
    reset = form_with(admin.get("/+users"), user="bob", action="password")
    reset["password"] = "another-password"
    reset.submit(status=302)
    form_with(admin.get("/+users"), user="bob", action="sessions").submit(status=302)


def credential_life(alice) -> tuple[str, str]:
    """alice creates a credential, disables and enables it; (access key, secret key)."""
    form = alice.get("/+credentials").forms["create-credential"]
    form["mode"] = "upload"
    page = form.submit(status=200)
    key, secret = page.html.find(id="access-key").text, page.html.find(id="secret-key").text
    form_with(alice.get("/+credentials"), access_key=key, action="disable").submit(status=302)
    form_with(alice.get("/+credentials"), access_key=key, action="enable").submit(status=302)
    return key, secret


def fail_to_log_in(app, key: str) -> None:
    """A wrong password on the form, over HTTP Basic, and a wrong secret for a credential;
    each sent twice (pip sends its credentials on every request: the same attempt again)."""
    for _ in range(2):
        login(client(app, "10.9.0.1"), "alice", "not-her-password", status=400)
        client(app, "10.9.0.2").get("/simple/", headers=basic_auth("bob", "wrong"), status=401)
        client(app, "10.9.0.3").get("/simple/", headers=basic_auth(key, "0" * 32), status=401)


def expected_summary(key: str) -> list[tuple]:
    """What ``test_each_change...`` did, in order: (kind, user, address, repository, project)."""
    return [
        (events.USER, "admin", ADMIN_AT, "", ""),
        (events.USER, "admin", ADMIN_AT, "", ""),
        (events.ROLE, "admin", ADMIN_AT, "default", ""),
        (events.REPOSITORY, "admin", ADMIN_AT, "team", ""),
        (events.REPOSITORY, "admin", ADMIN_AT, "team", ""),
        (events.UPLOAD, "alice", UPLOADER_AT, "default", "demo"),
        (events.UPLOAD, "alice", UPLOADER_AT, "default", "demo"),
        (events.YANK, "admin", ADMIN_AT, "default", "demo"),
        (events.UNYANK, "admin", ADMIN_AT, "default", "demo"),
        (events.DELETE, "admin", ADMIN_AT, "default", "demo"),
        (events.OWNERS, "admin", ADMIN_AT, "default", "demo"),
        (events.USER, "admin", ADMIN_AT, "", ""),
        (events.PASSWORD, "admin", ADMIN_AT, "", ""),
        (events.LOGOUT, "admin", ADMIN_AT, "", ""),
        (events.CREDENTIAL_CREATED, "alice", ALICE_AT, "", ""),
        (events.CREDENTIAL_DISABLED, "alice", ALICE_AT, "", ""),
        (events.CREDENTIAL_ENABLED, "alice", ALICE_AT, "", ""),
        (events.UPLOAD, "alice", CI_AT, "default", "demo"),
        (events.CREDENTIAL_DELETED, "alice", ALICE_AT, "", ""),
        (events.LOGIN_FAILED, "alice", "10.9.0.1", "", ""),
        (events.LOGIN_FAILED, "bob", "10.9.0.2", "", ""),
        (events.LOGIN_FAILED, key, "10.9.0.3", "", ""),  # deleted: the key is the name tried
    ]


def test_each_change_made_over_http_is_in_the_log_once_by_whom_from_where(make_app):
    app = make_app(**ANONYMOUS_READ)
    admin, alice = client(app, ADMIN_AT), client(app, ALICE_AT)
    login(admin)
    set_up_people(admin)
    uploader = basic_auth("alice", PASSWORD)
    for version in ("1.0", "2.0"):
        assert upload(client(app, UPLOADER_AT), make_wheel("demo", version),
                      headers=uploader).status_int == 200
    manage_releases(admin)
    manage_accounts(admin)
    login(alice, "alice", PASSWORD)
    key, secret = credential_life(alice)
    assert upload(client(app, CI_AT), make_wheel("demo", "3.0"),
                  headers=basic_auth(key, secret)).status_int == 200
    form_with(alice.get("/+credentials"), access_key=key, action="delete").submit(status=302)
    fail_to_log_in(app, key)

    found = entries(app)
    assert summary(found) == expected_summary(key)
    detail = [dict(e.detail) for e in found]
    assert [d.get("user") for d in detail[:2]] == ["alice", "bob"]
    assert detail[11] == {"user": "alice", "action": "changed", "groups": "dev"}
    assert [d["how"] for d in detail[-3:]] == ["form", "basic", "credential"]
    assert found[-1].via == key and found[17].via == key  # the upload by the credential
    assert [found[n].version for n in (7, 8, 9)] == ["1.0", "1.0", "2.0"]
    assert not any(secret in str(e) or "not-her-password" in str(e) for e in found)


def test_a_refused_upload_leaves_no_entry(app):
    response = upload(app, make_wheel("demo", "1.0"), version="not a version!")
    assert response.status_int == 400
    wrong_digest = upload(app, make_wheel("demo", "1.0"), sha256_digest="0" * 64)
    assert wrong_digest.status_int == 400
    assert entries(app) == []


@pytest.mark.fault
def test_a_change_whose_commit_fails_leaves_no_entry(tmp_path, make_app):
    """The upload is recorded, then its commit finds no room for Data.fs: rolled back."""
    with tmpfs(tmp_path / "var", "30m") as var:
        app = make_app(**ANONYMOUS_READ)
        dist = make_wheel("wordy", "1.0", padding=256 * 1024)
        description = "".join(f"{i:07x}\n" for i in range(100_000))  # 800 kB in Data.fs
        filler = fill(var, leave=len(dist.data) + 128 * 1024)
        assert upload(app, dist, description=description).status_int == 507
        assert entries(app) == []
        filler.unlink()
        assert upload(app, make_wheel("small", "1.0")).status_int == 200
        assert [e.project for e in entries(app)] == ["small"]


def test_throttled_attempts_are_recorded_once_per_window(app):
    stranger = client(app, "10.9.9.9")
    for n in range(8):  # different passwords: the throttle stops checking after 5
        login(stranger, "admin", f"guess-{n}", status=400 if n < 5 else 429)
    found = entries(app)
    assert [dict(e.detail).get("throttled") for e in found] == [None] * 5 + ["true"]
    assert {(e.user, e.address) for e in found} == {("admin", "10.9.9.9")}


# --- the page -----------------------------------------------------------------------------

def rows(page) -> list[list[str]]:
    """The table's rows: the text of each cell."""
    return [[re.sub(r"\s+", " ", td.get_text(" ")).strip() for td in tr.find_all("td")]
            for tr in page.html.select("tr.audit-entry")]


def many_changes(app, count: int) -> None:
    """``count`` repositories created by the admin, from ``ADMIN_AT``, then one user."""
    admin = client(app, ADMIN_AT)
    login(admin)
    for n in range(count):
        form = admin.get("/+repositories").forms["new-repository"]
        form["name"] = f"r{n:03d}"
        form.submit(status=302)
    add_user_on_the_page(admin, "carol")
    settled(app)  # the writer has recorded them


def test_the_page_filters_and_pages_newest_first(make_app):
    app = make_app(**ANONYMOUS_READ)
    many_changes(app, 55)
    admin = client(app, ADMIN_AT)
    login(admin)
    first = admin.get("/+audit")
    assert "no-store" in first.headers["Cache-Control"]
    shown = rows(first)
    assert len(shown) == audit.PAGE_SIZE
    assert shown[0][1:4] == ["admin", ADMIN_AT, events.USER]
    assert shown[1][4] == "r054" and shown[-1][4] == "r006"
    assert "Newer entries" not in first.text
    older = first.click("Older entries")
    assert [r[4] for r in rows(older)] == ["r005", "r004", "r003", "r002", "r001", "r000"]
    assert "Older entries" not in older.text
    assert rows(older.click("Newer entries")) == shown

    filtered = admin.get("/+audit", {"kind": events.USER, "user": "carol"})
    assert [r[3] for r in rows(filtered)] == [events.USER]
    form = filtered.forms["audit-filter"]
    assert (form["kind"].value, form["user"].value) == (events.USER, "carol")
    assert rows(admin.get("/+audit", {"repository": "r007"}))[0][4] == "r007"
    assert len(rows(admin.get("/+audit", {"repository": "r007"}))) == 1
    assert rows(admin.get("/+audit", {"user": "nobody"})) == []
    empty = admin.get("/+audit", {"project": "x"}).html.find("tbody").get_text()
    assert " ".join(empty.split()) == "No entries match these filters."
    assert rows(admin.get("/+audit", {"before": "not-a-key"})) == shown  # ignored


def test_only_admins_read_the_log(app):
    with database_root(app) as root:
        accounts.add_user(root, "dave", PASSWORD, passwords=passwords(app))
        key, secret, _ = accounts.create_credential(root, "admin")
    assert "/+login?came_from=" in app.get("/+audit", status=302).location
    dave = client(app, ALICE_AT)
    login(dave, "dave", PASSWORD)
    assert "Audit log" not in dave.get("/").text
    refused = dave.get("/+audit", status=403)
    assert "dave may not do this here" in refused.status
    app.get("/+audit", headers=basic_auth(key, secret), status=403)
    admin = client(app, ADMIN_AT)
    login(admin)
    assert 'href="http://localhost/+audit"' in admin.get("/").text
    admin.get("/+audit", headers=basic_auth("admin", ADMIN_PASSWORD), status=200)


def test_the_servers_retention_round_drops_entries_older_than_shop_audit_days(make_app):
    app = make_app(**{**ANONYMOUS_READ, "shop.audit.days": "30"})
    with database_root(app) as root:
        old = audit.Entry(time.time() - 31 * 86400, events.USER, "admin", "local")
        audit.log_of(root).add(old)
    assert upload(app, make_wheel("fresh", "1.0")).status_int == 200
    services = services_of(app.app.registry)
    Periodic(services, interval=0).tick(services)  # the thread's round: no clean-up due
    assert [e.project for e in entries(app)] == ["fresh"]


def test_a_wrong_current_password_on_the_account_page_is_a_failed_login(app):
    with database_root(app) as root:
        accounts.add_user(root, "erin", PASSWORD, passwords=passwords(app))
    erin = client(app, ALICE_AT)
    login(erin, "erin", PASSWORD)
    form = erin.get("/+account").forms["change-password"]
    form["current_password"], form["new_password"], form["repeat_password"] = (
        "not-it", "new-password-1", "new-password-1")
    assert "current password is wrong" in form.submit(status=400).text
    (failed,) = [e for e in entries(app) if e.kind == events.LOGIN_FAILED]
    assert (failed.user, failed.address, dict(failed.detail)) == ("erin", ALICE_AT, {"how": "password-form"})


def test_a_command_that_fails_after_its_change_was_recorded_leaves_no_entry(tmp_path, capsys):
    """``repository add`` records the new repository, then its --read-networks is refused:
    the command's transaction is aborted, and its entry with it."""
    ini = tmp_path / "shop.ini"
    ini.write_text("[app:main]\nuse = egg:localshop\nshop.upstream = none\nshop.secret = s\n"
                   f"zodbconn.uri = file://{tmp_path}/Data.fs?blobstorage_dir={tmp_path}/blobs\n"
                   "shop.argon2_profile = CHEAPEST\n")

    def localshop(*args: str) -> tuple[int, str]:
        code = cli.main(["-c", str(ini), *args])
        return code, capsys.readouterr().out

    assert localshop("repository", "add", "team", "--read-networks", "not-a-network")[0] == 1
    assert localshop("audit", "--json") == (0, "")
    assert localshop("repository", "add", "team")[0] == 0
    code, out = localshop("audit", "--json")
    (entry,) = [json.loads(line) for line in out.splitlines()]
    assert (entry["kind"], entry["repository"], entry["address"]) == (events.REPOSITORY, "team", "local")
    assert entry["user"] == events.command_line().user
